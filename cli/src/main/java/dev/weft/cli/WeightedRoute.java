package dev.weft.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTPRoute or a GRPCRoute, seen through what {@code weft shift} and {@code rollback} read and
 * write: its rules' names, their backends' weights, and the status parents Weft writes. The two
 * kinds have the same shape but no common type in the Gateway API's model.
 */
final class WeightedRoute {

  /** The kinds whose weights the CLI edits, by the resource name kubectl uses. */
  enum Kind {
    HTTP("httproute", HTTPRoute.class),
    GRPC("grpcroute", GRPCRoute.class);

    final String resource;
    final Class<? extends HasMetadata> type;

    Kind(String resource, Class<? extends HasMetadata> type) {
      this.resource = resource;
      this.type = type;
    }

    /**
     * The kind a ROUTE argument names ({@code httproute/NAME}, {@code grpcroutes/NAME}), or null
     * for a bare name; refuses another prefix.
     */
    static Kind ofPrefix(String argument) {
      int slash = argument.indexOf('/');
      if (slash < 0) {
        return null;
      }
      String prefix = argument.substring(0, slash).toLowerCase(Locale.ROOT);
      for (Kind kind : values()) {
        if (prefix.equals(kind.resource) || prefix.equals(kind.resource + "s")) {
          return kind;
        }
      }
      throw new CliException(
          argument
              + ": weft edits the weights of httproute/NAME or grpcroute/NAME, not "
              + argument.substring(0, slash));
    }
  }

  final Kind kind;
  final HasMetadata object;

  private WeightedRoute(Kind kind, HasMetadata object) {
    this.kind = kind;
    this.object = object;
  }

  /** The route named so in {@code namespace}, or null when there is none. */
  static WeightedRoute get(KubernetesClient client, Kind kind, String namespace, String name) {
    HasMetadata found = client.resources(kind.type).inNamespace(namespace).withName(name).get();
    return found == null ? null : new WeightedRoute(kind, found);
  }

  /** Its rules' names, null for an unnamed rule; empty when it has no rules. */
  List<String> ruleNames() {
    List<String> names = new ArrayList<>();
    if (object instanceof HTTPRoute) {
      HTTPRoute route = (HTTPRoute) object;
      if (route.getSpec() != null && route.getSpec().getRules() != null) {
        route.getSpec().getRules().stream().map(HTTPRouteRule::getName).forEach(names::add);
      }
    } else {
      GRPCRoute route = (GRPCRoute) object;
      if (route.getSpec() != null && route.getSpec().getRules() != null) {
        route.getSpec().getRules().stream().map(GRPCRouteRule::getName).forEach(names::add);
      }
    }
    return names;
  }

  /** One backendRef: its name and weight as written (null: unset). */
  record Backend(String name, Integer weight) {}

  /** The backendRefs of rule {@code rule}, in order; empty when it has none. */
  List<Backend> backends(int rule) {
    List<Backend> backends = new ArrayList<>();
    if (object instanceof HTTPRoute) {
      List<HTTPBackendRef> refs =
          ((HTTPRoute) object).getSpec().getRules().get(rule).getBackendRefs();
      if (refs != null) {
        refs.forEach(ref -> backends.add(new Backend(ref.getName(), ref.getWeight())));
      }
    } else {
      List<GRPCBackendRef> refs =
          ((GRPCRoute) object).getSpec().getRules().get(rule).getBackendRefs();
      if (refs != null) {
        refs.forEach(ref -> backends.add(new Backend(ref.getName(), ref.getWeight())));
      }
    }
    return backends;
  }

  /** Sets the weights of rule {@code rule}'s backendRefs, by name. */
  void setWeights(int rule, Map<String, Integer> weights) {
    if (object instanceof HTTPRoute) {
      ((HTTPRoute) object)
          .getSpec()
          .getRules()
          .get(rule)
          .getBackendRefs()
          .forEach(ref -> ref.setWeight(weights.get(ref.getName())));
    } else {
      ((GRPCRoute) object)
          .getSpec()
          .getRules()
          .get(rule)
          .getBackendRefs()
          .forEach(ref -> ref.setWeight(weights.get(ref.getName())));
    }
  }

  /** Its status parents; empty before any controller wrote one. */
  List<RouteParentStatus> parents() {
    List<RouteParentStatus> parents = null;
    if (object instanceof HTTPRoute) {
      HTTPRoute route = (HTTPRoute) object;
      parents = route.getStatus() == null ? null : route.getStatus().getParents();
    } else {
      GRPCRoute route = (GRPCRoute) object;
      parents = route.getStatus() == null ? null : route.getStatus().getParents();
    }
    return parents == null ? List.of() : parents;
  }

  /** How messages name it: {@code httproute shop/checkout}. */
  String label() {
    return kind.resource
        + " "
        + object.getMetadata().getNamespace()
        + "/"
        + object.getMetadata().getName();
  }
}
