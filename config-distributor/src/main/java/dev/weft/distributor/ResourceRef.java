package dev.weft.distributor;

import dev.weft.registry.ServiceKey;

/**
 * A requested resource name, parsed once when a proxy subscribes: which Service port it is about
 * (for client resources), or which address (for a server Listener), or neither when the name refers
 * to nothing Weft can serve (it then does not exist, and the proxy is told so).
 *
 * <p>Refs are shared: every stream that asks for a name holds the same one (see {@link
 * ResourceCache#ref}). So each also remembers what it last resolved to, in which snapshot: when
 * thousands of proxies connect, or a change reaches hundreds, they resolve the same name in the
 * same snapshot, and only the first does the lookups. Equal by type and name, from which the rest
 * is parsed, by whether it is Envoy's, and by the zone it is asked from (load assignments only).
 *
 * <p>Thread-safety: immutable apart from that memo, which is one volatile, immutable pair.
 */
final class ResourceRef {

  private final ResourceType type;
  private final String name;
  private final ServiceKey service;
  private final int port;
  private final ResourceNames.ServerAddress server;
  private final boolean envoy;
  private final String zone;
  private volatile Resolution resolution;

  /** What a ref resolved to (null: nothing) in the snapshot of a registry version. */
  record Resolution(long stateVersion, Resource resource) {}

  ResourceRef(
      ResourceType type,
      String name,
      ServiceKey service,
      int port,
      ResourceNames.ServerAddress server) {
    this(type, name, service, port, server, false, "");
  }

  private ResourceRef(
      ResourceType type,
      String name,
      ServiceKey service,
      int port,
      ResourceNames.ServerAddress server,
      boolean envoy,
      String zone) {
    this.type = type;
    this.name = name;
    this.service = service;
    this.port = port;
    this.server = server;
    this.envoy = envoy;
    this.zone = zone;
  }

  /**
   * The same name as an Envoy sidecar asks for it: a Listener or Cluster of that name is built for
   * Envoy ({@link EnvoySidecarTranslator}), so it is a ref of its own, with its own memo.
   */
  ResourceRef forEnvoy() {
    return new ResourceRef(type, name, service, port, server, true, zone);
  }

  /**
   * The same load assignment as a proxy in {@code zone} asks for it: under locality failover its
   * endpoints are ordered by that zone ({@link ResourceCache#zonedRef}), so it has its own memo.
   */
  ResourceRef inZone(String zone) {
    if (type != ResourceType.ENDPOINT) {
      throw new IllegalArgumentException("only load assignments depend on the zone: " + this);
    }
    return new ResourceRef(type, name, service, port, server, envoy, zone);
  }

  /** The zone of the proxy that asks, for a load assignment; empty when it does not matter. */
  String zone() {
    return zone;
  }

  /** Whether this is a Listener or Cluster as an Envoy sidecar gets it. */
  boolean isEnvoy() {
    return envoy;
  }

  static ResourceRef parse(ResourceType type, String name, ResourceNames names) {
    if (type == ResourceType.LISTENER) {
      var server = names.parseServerListener(name);
      if (server.isPresent()) {
        return new ResourceRef(type, name, null, 0, server.get());
      }
      return names
          .parseListener(name)
          .map(t -> new ResourceRef(type, name, t.service(), t.port(), null))
          .orElse(new ResourceRef(type, name, null, 0, null));
    }
    if (ResourceNames.isNotInMesh(name)) {
      // Of no Service, though "weft/not-in-mesh/a.b.svc.cluster.local:80" parses as one.
      return new ResourceRef(type, name, null, 0, null);
    }
    return names
        .parseCanonical(name)
        .map(t -> new ResourceRef(type, name, t.service(), t.port(), null))
        .orElse(new ResourceRef(type, name, null, 0, null));
  }

  ResourceType type() {
    return type;
  }

  String name() {
    return name;
  }

  /** The Service a client resource is about, or null. */
  ServiceKey service() {
    return service;
  }

  int port() {
    return port;
  }

  /** The address of a server Listener, or null. */
  ResourceNames.ServerAddress server() {
    return server;
  }

  boolean isServerListener() {
    return server != null;
  }

  /** What this ref last resolved to, or null. */
  Resolution resolution() {
    return resolution;
  }

  void resolved(Resolution resolution) {
    this.resolution = resolution;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ResourceRef that
        && type == that.type
        && envoy == that.envoy
        && name.equals(that.name)
        && zone.equals(that.zone);
  }

  @Override
  public int hashCode() {
    return ((type.ordinal() * 31 + name.hashCode()) * 2 + (envoy ? 1 : 0)) * 31 + zone.hashCode();
  }

  @Override
  public String toString() {
    return type + " " + name + (envoy ? " (Envoy)" : "") + (zone.isEmpty() ? "" : " in " + zone);
  }
}
