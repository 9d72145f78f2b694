package dev.weft.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code weft rollback <route>}: restores the weights the last {@code weft shift} replaced (from
 * the route's {@value RouteWeights#PREVIOUS_WEIGHTS} annotation), which it then replaces with the
 * weights it undid, so a second rollback redoes the shift.
 */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    description =
        "Restores the backend weights an HTTPRoute or GRPCRoute had before the last weft shift,"
            + " and waits until"
            + " proxies hold them.")
final class RollbackCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "ROUTE", description = RouteWeights.ROUTE_ARGUMENT)
  String route;

  @Mixin ShiftCommand.WaitOptions wait;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    try (KubernetesClient client = cli.kubernetes()) {
      String namespace = cli.namespace(client);
      RouteWeights weights =
          new RouteWeights(client, namespace, route, spec.commandLine().getOut(), cli.clock);
      Long generation =
          weights.apply(
              wait.rule,
              (current, rule, before) -> {
                String what = current.label();
                Map<String, Integer> previous =
                    RouteWeights.previous(current, RouteWeights.ruleLabel(current, rule), what);
                if (!previous.keySet().equals(before.keySet())) {
                  throw new CliException(
                      what
                          + ": its backends changed since the shift ("
                          + String.join(", ", previous.keySet())
                          + " then, "
                          + String.join(", ", before.keySet())
                          + " now); set the weights with weft shift instead");
                }
                return new LinkedHashMap<>(previous);
              });
      if (wait.wait) {
        weights.awaitProgrammed(generation, wait.timeout);
      }
    }
    return 0;
  }
}
