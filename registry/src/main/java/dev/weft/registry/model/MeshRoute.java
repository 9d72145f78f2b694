package dev.weft.registry.model;

import dev.weft.registry.ServiceKey;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A route of the mesh: an {@code HTTPRoute} or a {@code GRPCRoute} with Service parents (GAMMA), or
 * an {@code HTTPRoute} with Gateway parents, decoded.
 *
 * @param protocol which kind of route it was
 * @param namespace its namespace, which is also its backends' (references to other namespaces are
 *     not permitted without a ReferenceGrant, so the decoder leaves them out)
 * @param name its name
 * @param created its creation timestamp (RFC 3339, UTC), or {@code "~"} when unknown so that it
 *     sorts after every known one: the oldest route wins a precedence tie
 * @param parents the Services (and ports) it attaches to
 * @param gateways the Gateways (and listeners) it attaches to
 * @param hostnames for Gateway parents, the hosts it answers for (exact, or a wildcard of one
 *     leading label); empty for any. Service parents ignore them, as GAMMA says.
 * @param rules its rules, in order
 */
public record MeshRoute(
    Protocol protocol,
    String namespace,
    String name,
    String created,
    List<ServiceParent> parents,
    List<GatewayParent> gateways,
    List<String> hostnames,
    List<RouteRule> rules) {

  public MeshRoute {
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(created, "created");
    parents = List.copyOf(parents);
    gateways = List.copyOf(gateways);
    hostnames = List.copyOf(hostnames);
    rules = List.copyOf(rules);
  }

  /** The kind of route, which also decides precedence: GRPCRoutes come first. */
  public enum Protocol {
    GRPC("GRPCRoute"),
    HTTP("HTTPRoute");

    private final String kind;

    Protocol(String kind) {
      this.kind = kind;
    }

    /** The Kubernetes kind, as route names in the configuration show it. */
    public String kind() {
      return kind;
    }
  }

  /**
   * A Service parent.
   *
   * @param service the Service's name, in the route's namespace
   * @param port the one port it attaches to; empty for every port
   */
  public record ServiceParent(String service, OptionalInt port) {
    public ServiceParent {
      Objects.requireNonNull(service, "service");
      Objects.requireNonNull(port, "port");
    }
  }

  /**
   * A Gateway parent.
   *
   * @param namespace the Gateway's namespace (the route's, unless the parentRef says another)
   * @param name the Gateway's name
   * @param listener the one listener it attaches to ({@code sectionName}); empty for every one
   * @param port the listeners of one port it attaches to; empty for every port
   */
  public record GatewayParent(
      String namespace, String name, Optional<String> listener, OptionalInt port) {
    public GatewayParent {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(listener, "listener");
      Objects.requireNonNull(port, "port");
    }
  }

  /** Whether the route attaches to {@code port} of {@code service}. */
  public boolean attachesTo(ServiceKey service, int port) {
    if (!service.namespace().equals(namespace)) {
      return false;
    }
    for (ServiceParent parent : parents) {
      if (parent.service().equals(service.name())
          && (parent.port().isEmpty() || parent.port().getAsInt() == port)) {
        return true;
      }
    }
    return false;
  }

  /** {@code namespace/name}. */
  public String namespacedName() {
    return namespace + "/" + name;
  }
}
