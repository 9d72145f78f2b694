package dev.weft.registry.model;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A Gateway API {@code Gateway}, decoded: the listeners a Gateway's Envoy opens, whose HTTPRoutes
 * are those with the Gateway among their parents. Whether the Gateway is Weft's to program depends
 * on its class ({@link MeshGatewayClass}), which the registry does not settle: a Gateway may arrive
 * before its class.
 *
 * @param namespace its namespace, which is also the namespace of its certificates' Secrets
 * @param name its name, which its Envoy's node names (see the Envoy bootstrap)
 * @param className {@code gatewayClassName}
 * @param created its creation timestamp (RFC 3339), for the order of listeners' conflicts
 * @param listeners its listeners, in order
 */
public record MeshGateway(
    String namespace, String name, String className, String created, List<Listener> listeners)
    implements GatewayObject {

  public MeshGateway {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(className, "className");
    Objects.requireNonNull(created, "created");
    listeners = List.copyOf(listeners);
  }

  /** The protocols of the listeners Weft programs. */
  public enum Protocol {
    HTTP,
    HTTPS
  }

  /**
   * One listener of the Gateway.
   *
   * @param name its name, which routes' {@code sectionName} refers to
   * @param port the port the Gateway's Envoy listens on
   * @param protocol HTTP, or HTTPS terminated with {@code certificates}
   * @param hostname the host it answers for: exact ({@code shop.example.com}) or a wildcard of one
   *     leading label ({@code *.example.com}); empty for any
   * @param certificates for HTTPS, the names of the {@code kubernetes.io/tls} Secrets in the
   *     Gateway's namespace that hold its certificate (the first one is served)
   * @param routesFromAllNamespaces whether routes of any namespace may attach ({@code
   *     allowedRoutes.namespaces.from: All}); else only those of the Gateway's namespace
   */
  public record Listener(
      String name,
      int port,
      Protocol protocol,
      Optional<String> hostname,
      List<String> certificates,
      boolean routesFromAllNamespaces) {
    public Listener {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(protocol, "protocol");
      Objects.requireNonNull(hostname, "hostname");
      certificates = List.copyOf(certificates);
    }
  }

  /** {@code namespace/name}. */
  public String namespacedName() {
    return namespace + "/" + name;
  }

  /**
   * The host names {@code route} answers for on {@code listener}; empty when it does not attach
   * there: its parentRef names another Gateway, listener or port, the listener does not take routes
   * of its namespace, or their host names do not intersect.
   */
  public List<String> hostsOf(MeshRoute route, Listener listener) {
    if (!listener.routesFromAllNamespaces() && !route.namespace().equals(namespace)) {
      return List.of();
    }
    for (MeshRoute.GatewayParent parent : route.gateways()) {
      if (parent.namespace().equals(namespace)
          && parent.name().equals(name)
          && parent.listener().map(listener.name()::equals).orElse(true)
          && (parent.port().isEmpty() || parent.port().getAsInt() == listener.port())) {
        return intersection(listener.hostname(), route.hostnames());
      }
    }
    return List.of();
  }

  /**
   * The host names a route answers for on a listener, as the Gateway API intersects them: with
   * neither naming one, every host ({@code *}); with one, its; with both, those of the route that
   * the listener's match, each narrowed to the more specific of the two.
   */
  static List<String> intersection(Optional<String> listener, List<String> route) {
    if (route.isEmpty()) {
      return List.of(listener.orElse("*"));
    }
    if (listener.isEmpty()) {
      return route;
    }
    String own = listener.get();
    List<String> hosts = new java.util.ArrayList<>();
    for (String host : route) {
      if (covers(own, host)) {
        hosts.add(host); // the route's is the narrower (or the same)
      } else if (covers(host, own)) {
        hosts.add(own);
      }
    }
    return hosts;
  }

  /**
   * Whether {@code pattern} (exact, or {@code *.} and a suffix) covers every host of {@code host}.
   */
  private static boolean covers(String pattern, String host) {
    if (!pattern.startsWith("*.")) {
      return pattern.equals(host);
    }
    String suffix = pattern.substring(1); // ".example.com"
    return host.endsWith(suffix) && host.length() > suffix.length();
  }
}
