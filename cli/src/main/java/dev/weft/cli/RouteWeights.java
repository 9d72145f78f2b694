package dev.weft.cli;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
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
 * Edits the backendRef weights of one rule of an HTTPRoute, as {@code weft shift} and {@code weft
 * rollback} do: remembers the weights it replaces in the {@value #PREVIOUS_WEIGHTS} annotation,
 * writes with the route's resourceVersion (a concurrent edit is retried on the newer route), and
 * can wait until Weft says proxies hold the new generation.
 */
final class RouteWeights {

  /** The weights before the last shift, as JSON: {@code {"rule": "...", "weights": {...}}}. */
  static final String PREVIOUS_WEIGHTS = "weft.dev/previous-weights";

  /** The controller name Weft writes its route status under. */
  static final String CONTROLLER_NAME = "weft.dev/mesh-controller";

  static final int MAX_WEIGHT = 1_000_000;

  private static final int ATTEMPTS = 3;
  private static final Duration POLL = Duration.ofMillis(200);

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final PrintWriter out;
  private final Clock clock;

  RouteWeights(
      KubernetesClient client, String namespace, String name, PrintWriter out, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.out = out;
    this.clock = clock;
  }

  /** What a shift or rollback makes of a rule's weights, given the route as it is now. */
  interface Edit {
    /** The weights to write, by backend name; throws a {@link CliException} to refuse. */
    Map<String, Integer> newWeights(HTTPRoute route, int rule, Map<String, Integer> current);
  }

  /**
   * Applies {@code edit} to the chosen rule ({@code ruleName}, or the only one), and returns the
   * route's generation after the write (or as it is, when nothing changed).
   */
  Long apply(String ruleName, Edit edit) {
    for (int attempt = 1; ; attempt++) {
      HTTPRoute route = load();
      int rule = rule(route, ruleName);
      Map<String, Integer> current = weights(route, rule);
      Map<String, Integer> next = edit.newWeights(route, rule, current);
      if (next.equals(current)) {
        out.println("httproute " + namespace + "/" + name + " unchanged: " + describe(current));
        return route.getMetadata().getGeneration();
      }
      List<HTTPBackendRef> refs = route.getSpec().getRules().get(rule).getBackendRefs();
      for (HTTPBackendRef ref : refs) {
        ref.setWeight(next.get(ref.getName()));
      }
      ObjectNode previous = WeftApi.JSON.createObjectNode();
      previous.put("rule", ruleLabel(route, rule));
      ObjectNode weights = previous.putObject("weights");
      current.forEach(weights::put);
      route.getMetadata().getAnnotations().put(PREVIOUS_WEIGHTS, previous.toString());
      try {
        HTTPRoute written = client.resource(route).update();
        out.println(
            "httproute "
                + namespace
                + "/"
                + name
                + " "
                + ruleLabel(route, rule)
                + ": "
                + changes(current, next));
        return written.getMetadata().getGeneration();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == ATTEMPTS) {
          throw e.getCode() == 409
              ? new CliException(
                  "httproute "
                      + namespace
                      + "/"
                      + name
                      + " kept changing while being edited; run the command again")
              : e;
        }
      }
    }
  }

  /** The route, or a refusal naming it. */
  HTTPRoute load() {
    HTTPRoute route = client.resources(HTTPRoute.class).inNamespace(namespace).withName(name).get();
    if (route == null) {
      throw new CliException(
          "no HTTPRoute "
              + namespace
              + "/"
              + name
              + "; kubectl get httproutes -n "
              + namespace
              + " lists them (-n sets the namespace)");
    }
    if (route.getSpec() == null
        || route.getSpec().getRules() == null
        || route.getSpec().getRules().isEmpty()) {
      throw new CliException("httproute " + namespace + "/" + name + " has no rules to shift");
    }
    if (route.getMetadata().getAnnotations() == null) {
      route.getMetadata().setAnnotations(new HashMap<>());
    }
    return route;
  }

  /**
   * The index of the rule named {@code ruleName}, or of the only rule when it is null; refuses a
   * route with several rules without one, or a name it lacks.
   */
  int rule(HTTPRoute route, String ruleName) {
    List<HTTPRouteRule> rules = route.getSpec().getRules();
    if (ruleName == null) {
      if (rules.size() > 1) {
        throw new CliException(
            "--rule: httproute "
                + namespace
                + "/"
                + name
                + " has "
                + rules.size()
                + " rules; choose one with --rule NAME (named: "
                + ruleNames(rules)
                + ")");
      }
      return 0;
    }
    for (int i = 0; i < rules.size(); i++) {
      if (ruleName.equals(rules.get(i).getName())) {
        return i;
      }
    }
    throw new CliException(
        "--rule: httproute "
            + namespace
            + "/"
            + name
            + " has no rule named "
            + ruleName
            + " (named: "
            + ruleNames(rules)
            + ")");
  }

  /** The rule's weights by backend name; an unset weight is 1, as the Gateway API defaults it. */
  Map<String, Integer> weights(HTTPRoute route, int rule) {
    List<HTTPBackendRef> refs = route.getSpec().getRules().get(rule).getBackendRefs();
    if (refs == null || refs.isEmpty()) {
      throw new CliException(
          "httproute "
              + namespace
              + "/"
              + name
              + " "
              + ruleLabel(route, rule)
              + " has no backendRefs to weigh");
    }
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (HTTPBackendRef ref : refs) {
      if (weights.put(ref.getName(), ref.getWeight() == null ? 1 : ref.getWeight()) != null) {
        throw new CliException(
            "httproute "
                + namespace
                + "/"
                + name
                + " "
                + ruleLabel(route, rule)
                + " names backend "
                + ref.getName()
                + " twice; weft shift edits a rule whose backends differ by name");
      }
    }
    return weights;
  }

  /** The weights the last shift replaced, from the annotation, for a rollback. */
  static Map<String, Integer> previous(HTTPRoute route, String ruleLabel, String what) {
    String annotation = route.getMetadata().getAnnotations().get(PREVIOUS_WEIGHTS);
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
  static String ruleLabel(HTTPRoute route, int rule) {
    String ruleName = route.getSpec().getRules().get(rule).getName();
    return ruleName == null || ruleName.isEmpty() ? "rule #" + rule : "rule " + ruleName;
  }

  private static String ruleNames(List<HTTPRouteRule> rules) {
    StringJoiner names = new StringJoiner(", ");
    rules.stream().map(HTTPRouteRule::getName).filter(Objects::nonNull).forEach(names::add);
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
      HTTPRoute route = load();
      List<String> messages = new ArrayList<>();
      boolean weftParent = false;
      boolean programmed = true;
      List<RouteParentStatus> parents =
          route.getStatus() == null || route.getStatus().getParents() == null
              ? List.of()
              : route.getStatus().getParents();
      for (RouteParentStatus parent : parents) {
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
                + " waiting for httproute "
                + namespace
                + "/"
                + name
                + (generation == null ? "" : " generation " + generation)
                + " to be Programmed ("
                + last
                + "); weft proxy-status shows which proxies lag, --timeout waits longer");
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException("interrupted while waiting for httproute " + namespace + "/" + name);
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
