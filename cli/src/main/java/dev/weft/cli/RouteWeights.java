package dev.weft.cli;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Edits the backendRef weights of one rule of an HTTPRoute or a GRPCRoute, as {@code weft shift}
 * and {@code weft rollback} do: remembers the weights it replaces in the {@value #PREVIOUS_WEIGHTS}
 * annotation, writes with the route's resourceVersion (a concurrent edit is retried on the newer
 * route), and can wait until Weft says proxies hold the new generation.
 */
final class RouteWeights {

  /** The weights before the last shift, as JSON: {@code {"rule": "...", "weights": {...}}}. */
  static final String PREVIOUS_WEIGHTS = "weft.dev/previous-weights";

  /** The controller name Weft writes its route status under. */
  static final String CONTROLLER_NAME = "weft.dev/mesh-controller";

  static final int MAX_WEIGHT = 1_000_000;

  /** How shift and rollback describe their ROUTE argument. */
  static final String ROUTE_ARGUMENT =
      "The route: httproute/NAME, grpcroute/NAME, or NAME when only one kind has it.";

  private static final int ATTEMPTS = 3;
  private static final Duration POLL = Duration.ofMillis(200);

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final PrintWriter out;
  private final Clock clock;

  /** The route's kind: given by the argument, or found at the first load. */
  private WeightedRoute.Kind kind;

  /**
   * Edits the route {@code argument} names: {@code httproute/NAME}, {@code grpcroute/NAME}, or a
   * bare NAME, which must be one of the two kinds and not both.
   */
  RouteWeights(
      KubernetesClient client, String namespace, String argument, PrintWriter out, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.kind = WeightedRoute.Kind.ofPrefix(argument);
    this.name = kind == null ? argument : argument.substring(argument.indexOf('/') + 1);
    this.out = out;
    this.clock = clock;
  }

  /** What a shift or rollback makes of a rule's weights, given the route as it is now. */
  interface Edit {
    /** The weights to write, by backend name; throws a {@link CliException} to refuse. */
    Map<String, Integer> newWeights(WeightedRoute route, int rule, Map<String, Integer> current);
  }

  /**
   * Applies {@code edit} to the chosen rule ({@code ruleName}, or the only one), and returns the
   * route's generation after the write (or as it is, when nothing changed).
   */
  Long apply(String ruleName, Edit edit) {
    for (int attempt = 1; ; attempt++) {
      WeightedRoute route = load();
      int rule = rule(route, ruleName);
      Map<String, Integer> current = weights(route, rule);
      Map<String, Integer> next = edit.newWeights(route, rule, current);
      if (next.equals(current)) {
        out.println(route.label() + " unchanged: " + describe(current));
        return route.object.getMetadata().getGeneration();
      }
      route.setWeights(rule, next);
      ObjectNode previous = WeftApi.JSON.createObjectNode();
      previous.put("rule", ruleLabel(route, rule));
      ObjectNode weights = previous.putObject("weights");
      current.forEach(weights::put);
      route.object.getMetadata().getAnnotations().put(PREVIOUS_WEIGHTS, previous.toString());
      try {
        HasMetadata written = client.resource(route.object).update();
        out.println(route.label() + " " + ruleLabel(route, rule) + ": " + changes(current, next));
        return written.getMetadata().getGeneration();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == ATTEMPTS) {
          throw e.getCode() == 409
              ? new CliException(
                  route.label() + " kept changing while being edited; run the command again")
              : e;
        }
      }
    }
  }

  /** The route, or a refusal naming it. */
  WeightedRoute load() {
    WeightedRoute route = find();
    if (route.ruleNames().isEmpty()) {
      throw new CliException(route.label() + " has no rules to shift");
    }
    if (route.object.getMetadata().getAnnotations() == null) {
      route.object.getMetadata().setAnnotations(new HashMap<>());
    }
    return route;
  }

  private WeightedRoute find() {
    if (kind != null) {
      WeightedRoute route = WeightedRoute.get(client, kind, namespace, name);
      if (route == null) {
        throw new CliException(
            "no "
                + kind.type.getSimpleName()
                + " "
                + namespace
                + "/"
                + name
                + "; kubectl get "
                + kind.resource
                + "s -n "
                + namespace
                + " lists them (-n sets the namespace)");
      }
      return route;
    }
    WeightedRoute http = WeightedRoute.get(client, WeightedRoute.Kind.HTTP, namespace, name);
    WeightedRoute grpc = WeightedRoute.get(client, WeightedRoute.Kind.GRPC, namespace, name);
    if (http != null && grpc != null) {
      throw new CliException(
          "both an HTTPRoute and a GRPCRoute are named "
              + namespace
              + "/"
              + name
              + "; say which: httproute/"
              + name
              + " or grpcroute/"
              + name);
    }
    if (http == null && grpc == null) {
      throw new CliException(
          "no HTTPRoute or GRPCRoute "
              + namespace
              + "/"
              + name
              + "; kubectl get httproutes,grpcroutes -n "
              + namespace
              + " lists them (-n sets the namespace)");
    }
    WeightedRoute found = http != null ? http : grpc;
    kind = found.kind;
    return found;
  }

  /**
   * The index of the rule named {@code ruleName}, or of the only rule when it is null; refuses a
   * route with several rules without one, or a name it lacks.
   */
  int rule(WeightedRoute route, String ruleName) {
    List<String> rules = route.ruleNames();
    if (ruleName == null) {
      if (rules.size() > 1) {
        throw new CliException(
            "--rule: "
                + route.label()
                + " has "
                + rules.size()
                + " rules; choose one with --rule NAME (named: "
                + ruleNames(rules)
                + ")");
      }
      return 0;
    }
    for (int i = 0; i < rules.size(); i++) {
      if (ruleName.equals(rules.get(i))) {
        return i;
      }
    }
    throw new CliException(
        "--rule: "
            + route.label()
            + " has no rule named "
            + ruleName
            + " (named: "
            + ruleNames(rules)
            + ")");
  }

  /** The rule's weights by backend name; an unset weight is 1, as the Gateway API defaults it. */
  Map<String, Integer> weights(WeightedRoute route, int rule) {
    List<WeightedRoute.Backend> refs = route.backends(rule);
    if (refs.isEmpty()) {
      throw new CliException(
          route.label() + " " + ruleLabel(route, rule) + " has no backendRefs to weigh");
    }
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (WeightedRoute.Backend ref : refs) {
      if (weights.put(ref.name(), ref.weight() == null ? 1 : ref.weight()) != null) {
        throw new CliException(
            route.label()
                + " "
                + ruleLabel(route, rule)
                + " names backend "
                + ref.name()
                + " twice; weft shift edits a rule whose backends differ by name");
      }
    }
    return weights;
  }

  /** The weights the last shift replaced, from the annotation, for a rollback. */
  static Map<String, Integer> previous(WeightedRoute route, String ruleLabel, String what) {
    String annotation = route.object.getMetadata().getAnnotations().get(PREVIOUS_WEIGHTS);
    if (annotation == null) {
      throw new CliException(
          what
              + " has no "
              + PREVIOUS_WEIGHTS
              + " annotation: nothing to roll back to (weft shift writes it)");
    }
    JsonNode json;
    try {
      json = WeftApi.JSON.readTree(annotation);
    } catch (JacksonException e) {
      throw new CliException(
          what + ": annotation " + PREVIOUS_WEIGHTS + " is not JSON; fix or remove it");
    }
    if (!json.path("weights").isObject() || !ruleLabel.equals(json.path("rule").asString())) {
      throw new CliException(
          what
              + ": annotation "
              + PREVIOUS_WEIGHTS
              + " is for "
              + json.path("rule").asString("another rule")
              + ", not "
              + ruleLabel
              + "; pass --rule for that rule");
    }
    Map<String, Integer> weights = new LinkedHashMap<>();
    json.path("weights").properties().forEach(e -> weights.put(e.getKey(), e.getValue().asInt()));
    return weights;
  }

  /** How a rule is named in messages and the annotation: {@code rule NAME}, or {@code rule #i}. */
  static String ruleLabel(WeightedRoute route, int rule) {
    String ruleName = route.ruleNames().get(rule);
    return ruleName == null || ruleName.isEmpty() ? "rule #" + rule : "rule " + ruleName;
  }

  private static String ruleNames(List<String> rules) {
    StringJoiner names = new StringJoiner(", ");
    rules.stream().filter(Objects::nonNull).forEach(names::add);
    return names.length() == 0 ? "none; name them in spec.rules[].name" : names.toString();
  }

  static String describe(Map<String, Integer> weights) {
    StringJoiner text = new StringJoiner(", ");
    weights.forEach((backend, weight) -> text.add(backend + "=" + weight));
    return text.toString();
  }

  private static String changes(Map<String, Integer> before, Map<String, Integer> after) {
    StringJoiner text = new StringJoiner(", ");
    before.forEach(
        (backend, weight) ->
            text.add(
                backend
                    + " "
                    + weight
                    + (weight.equals(after.get(backend)) ? "" : " -> " + after.get(backend))));
    return text.toString();
  }

  /**
   * Waits until every status parent Weft writes says {@code Programmed: True} for {@code
   * generation} (or newer), printing its message ("N of M proxies hold it"); refuses with the last
   * message it saw when {@code timeout} passes.
   */
  void awaitProgrammed(Long generation, Duration timeout) {
    Instant deadline = clock.instant().plus(timeout);
    String last = "Weft has not written the route's status for this generation yet";
    while (true) {
      WeightedRoute route = load();
      List<String> messages = new ArrayList<>();
      boolean weftParent = false;
      boolean programmed = true;
      for (RouteParentStatus parent : route.parents()) {
        if (!CONTROLLER_NAME.equals(parent.getControllerName())) {
          continue;
        }
        weftParent = true;
        Condition condition = programmed(parent);
        if (condition == null || !current(condition, generation)) {
          programmed = false;
        } else if (!"True".equals(condition.getStatus())) {
          programmed = false;
          last = condition.getReason() + ": " + condition.getMessage();
        } else {
          messages.add(condition.getMessage());
        }
      }
      programmed = programmed && weftParent;
      if (programmed) {
        out.println("Programmed: " + String.join("; ", messages));
        return;
      }
      if (!clock.instant().isBefore(deadline)) {
        throw new CliException(
            "timed out after "
                + Durations.age(timeout)
                + " waiting for "
                + route.label()
                + (generation == null ? "" : " generation " + generation)
                + " to be Programmed ("
                + last
                + "); weft proxy-status shows which proxies lag, --timeout waits longer");
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException("interrupted while waiting for " + route.label());
      }
    }
  }

  private static Condition programmed(RouteParentStatus parent) {
    if (parent.getConditions() == null) {
      return null;
    }
    for (Condition condition : parent.getConditions()) {
      if ("Programmed".equals(condition.getType())) {
        return condition;
      }
    }
    return null;
  }

  private static boolean current(Condition condition, Long generation) {
    return generation == null
        || (condition.getObservedGeneration() != null
            && condition.getObservedGeneration() >= generation);
  }
}
