package dev.weft.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code weft shift <route> <backend>=<weight>...}: sets backendRef weights of an HTTPRoute or
 * GRPCRoute rule, remembering the previous ones for {@code weft rollback}, then waits until Weft
 * reports that proxies hold the new generation.
 */
@Command(
    name = "shift",
    mixinStandardHelpOptions = true,
    description =
        "Sets the weights of an HTTPRoute's or GRPCRoute's backends (others keep theirs),"
            + " remembers the previous"
            + " weights for weft rollback, and waits until proxies hold the change.")
final class ShiftCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "ROUTE", description = RouteWeights.ROUTE_ARGUMENT)
  String route;

  @Parameters(
      index = "1..*",
      arity = "1..*",
      paramLabel = "BACKEND=WEIGHT",
      description = "A backendRef's name and its new weight, 0 to 1000000.")
  List<String> assignments;

  @Mixin WaitOptions wait;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    Map<String, Integer> requested = parse(assignments);
    try (KubernetesClient client = cli.kubernetes()) {
      String namespace = cli.namespace(client);
      RouteWeights weights =
          new RouteWeights(client, namespace, route, spec.commandLine().getOut(), cli.clock);
      Long generation =
          weights.apply(
              wait.rule,
              (current, rule, before) -> {
                Map<String, Integer> after = new LinkedHashMap<>(before);
                requested.forEach(
                    (backend, weight) -> {
                      if (!before.containsKey(backend)) {
                        throw new CliException(
                            backend
                                + ": not a backend of "
                                + current.label()
                                + " "
                                + RouteWeights.ruleLabel(current, rule)
                                + " (its backends: "
                                + String.join(", ", before.keySet())
                                + ")");
                      }
                      after.put(backend, weight);
                    });
                if (after.values().stream().allMatch(w -> w == 0)) {
                  throw new CliException(
                      "weights: every backend would get weight 0, which sends no traffic; give"
                          + " one a positive weight");
                }
                return after;
              });
      if (wait.wait) {
        weights.awaitProgrammed(generation, wait.timeout);
      }
    }
    return 0;
  }

  /** BACKEND=WEIGHT arguments, refused one by one with the argument and the reason. */
  static Map<String, Integer> parse(List<String> assignments) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (String assignment : assignments) {
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        throw new CliException(assignment + ": expected BACKEND=WEIGHT, such as greeter-v2=50");
      }
      String backend = assignment.substring(0, eq);
      String text = assignment.substring(eq + 1);
      int weight;
      try {
        weight = Integer.parseInt(text);
      } catch (NumberFormatException e) {
        throw new CliException(
            assignment
                + ": weight \""
                + text
                + "\" is not an integer from 0 to "
                + RouteWeights.MAX_WEIGHT);
      }
      if (weight < 0 || weight > RouteWeights.MAX_WEIGHT) {
        throw new CliException(
            assignment + ": weight " + weight + " is not from 0 to " + RouteWeights.MAX_WEIGHT);
      }
      if (weights.put(backend, weight) != null) {
        throw new CliException(backend + ": given twice; give each backend one weight");
      }
    }
    return weights;
  }

  /** The options shift and rollback share. */
  static final class WaitOptions {
    @Option(
        names = "--rule",
        paramLabel = "NAME",
        description = "The rule to edit (spec.rules[].name); needed when the route has several.")
    String rule;

    @Option(
        names = "--wait",
        negatable = true,
        defaultValue = "true",
        fallbackValue = "true",
        description =
            "Wait until Weft reports the route Programmed for its new generation (default"
                + " ${DEFAULT-VALUE}; --no-wait returns after the write).")
    boolean wait;

    @Option(
        names = "--timeout",
        defaultValue = "60s",
        converter = Durations.class,
        description = "How long --wait waits (default ${DEFAULT-VALUE}).")
    Duration timeout;
  }
}
