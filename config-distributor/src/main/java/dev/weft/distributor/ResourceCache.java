package dev.weft.distributor;

import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds each resource once per change of its inputs and shares it among all the proxies that ask
 * for it.
 *
 * <p>Design: a memo per requested name remembers the registry values it was built from, and is
 * valid for any later snapshot that holds the very same values. Registry snapshots share every
 * value that did not change (by reference), so an identity check tells, in constant time and
 * without any invalidation pass, whether a resource must be rebuilt. Resources are built lazily,
 * only for names some proxy asked for. Memos of a deleted Service are dropped with it.
 *
 * <p>Thread-safety: concurrent maps; two threads may build the same resource at once, which is
 * harmless (translation is deterministic) and rare.
 */
final class ResourceCache {

  private final ResourceNames names;
  private final MutualTls mutualTls;
  private final ConcurrentHashMap<ServiceKey, ConcurrentHashMap<MemoKey, Memo>> byService =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Resource> serverListeners = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ResourceRef, Resource> placeholders = new ConcurrentHashMap<>();
  private final Map<ResourceType, ConcurrentHashMap<String, ResourceRef>> refs =
      new EnumMap<>(ResourceType.class);

  /**
   * Bounds the parsed-name table: thousands of proxies ask for the same few thousand names, so a
   * name is parsed and held once; a client asking for endless made-up names only clears it.
   */
  private static final int MAX_REFS = 100_000;

  /** A resource and the registry values it was built from. */
  private record Memo(
      MeshService service,
      ServiceEndpoints endpoints,
      ServiceAttachments attachments,
      Resource resource) {

    /**
     * Whether the memo was built from these very values. Identity, on purpose: snapshots share
     * unchanged values by reference, so this is exact, and constant time however large they are.
     */
    @SuppressWarnings("ReferenceEquality")
    boolean builtFrom(
        MeshService service, ServiceEndpoints endpoints, ServiceAttachments attachments) {
      return this.service == service
          && this.endpoints == endpoints
          && this.attachments == attachments;
    }
  }

  ResourceCache(ResourceNames names, MutualTls mutualTls) {
    this.names = names;
    this.mutualTls = mutualTls;
    for (ResourceType type : ResourceType.values()) {
      refs.put(type, new ConcurrentHashMap<>());
    }
  }

  /** The parsed form of a requested name, shared by every stream that asks for it. */
  ResourceRef ref(ResourceType type, String name) {
    ConcurrentHashMap<String, ResourceRef> table = refs.get(type);
    ResourceRef ref = table.get(name);
    if (ref == null) {
      if (table.size() >= MAX_REFS) {
        table.clear();
      }
      ref = table.computeIfAbsent(name, n -> ResourceRef.parse(type, n, names));
    }
    return ref;
  }

  ResourceNames names() {
    return names;
  }

  /**
   * What a state-of-the-world stream sends for a name that does not exist: for a client Listener,
   * {@link Translator#unknownClientListener}, so the client fails fast instead of waiting out
   * gRPC's 15 s does-not-exist timer; for other types, nothing (null). The delta protocol needs no
   * such thing: it says {@code removed_resources}.
   */
  Resource placeholder(ResourceRef ref) {
    // Depends on the name alone, and every stream asking for a missing name asks again at each
    // push: built (and hashed) once per name, in a table bounded like the parsed names.
    Resource cached = placeholders.get(ref);
    if (cached != null) {
      return cached;
    }
    Resource built = buildPlaceholder(ref);
    if (built != null) {
      if (placeholders.size() >= MAX_REFS) {
        placeholders.clear();
      }
      placeholders.put(ref, built);
    }
    return built;
  }

  private static Resource buildPlaceholder(ResourceRef ref) {
    if (ref.type() == ResourceType.LISTENER && !ref.isServerListener()) {
      return Resource.of(ref.name(), Translator.unknownClientListener(ref.name()));
    }
    // A route may name a backend Service that does not exist (yet): its share of requests must
    // fail at once, as the Gateway API asks, rather than wait out gRPC's timer. A cluster without
    // endpoints does that.
    if (ref.type() == ResourceType.CLUSTER && ref.service() != null) {
      return Resource.of(
          ref.name(),
          Translator.cluster(ref.name(), Translator.UNKNOWN_PORT, AttachedPolicies.NONE));
    }
    if (ref.type() == ResourceType.ENDPOINT && ref.service() != null) {
      return Resource.of(
          ref.name(), ClusterLoadAssignment.newBuilder().setClusterName(ref.name()).build());
    }
    return null;
  }

  /** The resource {@code ref} names in {@code state}, or null when it does not exist there. */
  Resource resolve(MeshState state, ResourceRef ref) {
    ResourceRef.Resolution last = ref.resolution();
    if (last != null && last.stateVersion() == state.version()) {
      return last.resource();
    }
    Resource resource = lookUp(state, ref);
    ref.resolved(new ResourceRef.Resolution(state.version(), resource));
    return resource;
  }

  private Resource lookUp(MeshState state, ResourceRef ref) {
    if (ref.isServerListener()) {
      return serverListeners.computeIfAbsent(
          ref.name(),
          name ->
              Resource.of(
                  name,
                  Translator.serverListener(
                      name, ref.server().ip(), ref.server().port(), mutualTls.strict())));
    }
    if (ref.service() == null) {
      return null;
    }
    MeshService service = state.service(ref.service()).orElse(null);
    if (service == null) {
      return null;
    }
    ServicePort port = Translator.portOf(service, ref.port());
    if (port == null) {
      return null;
    }
    // Each memo remembers only what its type is built from, so that a change to anything else
    // leaves it valid.
    // With mutual TLS, a cluster names the identities of its Service's endpoints.
    boolean needsEndpoints =
        ref.type() == ResourceType.ENDPOINT
            || (ref.type() == ResourceType.CLUSTER && mutualTls.strict());
    ServiceEndpoints endpoints = needsEndpoints ? state.endpoints(service.key()) : null;
    ServiceAttachments attachments =
        ref.type() == ResourceType.ROUTE || ref.type() == ResourceType.CLUSTER
            ? state.attachments(service.key())
            : null;
    ConcurrentHashMap<MemoKey, Memo> memos =
        byService.computeIfAbsent(service.key(), k -> new ConcurrentHashMap<>());
    MemoKey key = new MemoKey(ref.type(), ref.name());
    Memo memo = memos.get(key);
    if (memo != null && memo.builtFrom(service, endpoints, attachments)) {
      return memo.resource();
    }
    Resource built = build(ref, service, port, endpoints, attachments);
    memos.put(key, new Memo(service, endpoints, attachments, built));
    return built;
  }

  /** Forgets what was built for a Service that no longer exists. */
  void evict(ServiceKey service) {
    byService.remove(service);
  }

  private Resource build(
      ResourceRef ref,
      MeshService service,
      ServicePort port,
      ServiceEndpoints endpoints,
      ServiceAttachments attachments) {
    String canonical = names.canonical(service.key(), port.port());
    return switch (ref.type()) {
      case LISTENER -> Resource.of(ref.name(), Translator.clientListener(ref.name(), canonical));
      case ROUTE ->
          Resource.of(
              canonical,
              RouteTranslator.routeConfiguration(canonical, service, port, attachments, names));
      case CLUSTER ->
          Resource.of(canonical, securedCluster(canonical, service, port, endpoints, attachments));
      case ENDPOINT ->
          Resource.of(canonical, Translator.loadAssignment(canonical, service, port, endpoints));
    };
  }

  private Cluster securedCluster(
      String name,
      MeshService service,
      ServicePort port,
      ServiceEndpoints endpoints,
      ServiceAttachments attachments) {
    Cluster cluster =
        Translator.cluster(name, port, AttachedPolicies.of(service.key(), attachments));
    if (!mutualTls.strict()) {
      return cluster;
    }
    return cluster.toBuilder()
        .setTransportSocket(
            SecurityTranslator.upstream(service.key(), endpoints, mutualTls.trustDomain()))
        .build();
  }

  /** Names are unique per type only: a route and a cluster share the canonical name. */
  private record MemoKey(ResourceType type, String name) {}
}
