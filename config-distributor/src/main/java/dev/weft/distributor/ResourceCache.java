package dev.weft.distributor;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.weft.api.policy.LoadBalancing;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import dev.weft.registry.model.ResolvedPolicies;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
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

  /** The namespace whose Telemetry covers every namespace without one of its own. */
  private final String rootNamespace;

  /**
   * Outbound Listeners with tracing, by the shared Listener they copy (weakly, by identity: a copy
   * goes with its original) and the tracing settings: one copy per setting a mesh uses, however
   * many workloads share it.
   */
  private final Cache<Resource, Map<TelemetryValues.Tracing, Resource>> tracedOutbound =
      Caffeine.newBuilder().weakKeys().build();

  private final ConcurrentHashMap<ServiceKey, ConcurrentHashMap<MemoKey, Memo>> byService =
      new ConcurrentHashMap<>();
  private final Cache<InboundKey, Resource> serverListeners;
  private final Cache<ResourceRef, Resource> placeholders;
  private final Map<ResourceType, Cache<String, ResourceRef>> refs =
      new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Cache<String, ResourceRef>> envoyRefs =
      new EnumMap<>(ResourceType.class);

  /** Load assignment names as proxies that say their zone ask for them ({@link #zonedRef}). */
  private final Cache<ZonedName, ResourceRef> zonedRefs;

  /**
   * The outbound Listener and wildcard Clusters of sidecars that see the whole mesh: most of them,
   * so never evicted. Replaced under {@link #unscopedLock}, so that one build serves them all.
   */
  private volatile OutboundView unscoped;

  private final Object unscopedLock = new Object();

  /** The same for sidecars that declare their egress hosts, per view; bounded by bytes. */
  private final Cache<EgressView, OutboundView> scoped;

  /** Gateways' views by {@code namespace/name}: few, and rebuilt once per snapshot each. */
  private final Cache<String, GatewayMemo> gateways =
      Caffeine.newBuilder().maximumSize(1_024).expireAfterAccess(IDLE).build();

  /**
   * What a view of the mesh gets of the Services: the outbound Listener, and the refs of the
   * Clusters a wildcard CDS request lists (sorted by name), shared by every sidecar of the view.
   * Built from {@code included}, the view's Services in the snapshot of {@code stateVersion}, whose
   * services map was {@code services}. Any change of a Service the view includes rebuilds it (not
   * of endpoints, which reach Envoy by EDS); a change of another only carries it over to the new
   * snapshot.
   */
  record OutboundView(
      long stateVersion,
      Map<ServiceKey, MeshService> services,
      List<MeshService> included,
      Resource listener,
      List<ResourceRef> clusters) {

    /**
     * Whether it serves a stream at {@code state}: built from its services map, or from a newer
     * snapshot, which a stream still at an older one takes too (it is told of the newer soon),
     * rather than build an old copy again.
     */
    @SuppressWarnings("ReferenceEquality") // snapshots share an unchanged services map
    boolean serves(MeshState state) {
      return services == state.services() || stateVersion >= state.version();
    }

    /** About what it holds, for the bound of {@link #scoped}. */
    int weight() {
      return listener.body().getValue().size() + 96 * clusters.size() + 8 * included.size() + 256;
    }
  }

  /**
   * The mesh's endpoints by the Pod that backs them ({@code namespace/pod}), by the endpoints map
   * they were built from (weakly, by identity): one scan per change of endpoints, instead of one
   * per sidecar and push. Streams a version or two apart each find theirs, where one slot made them
   * rebuild it in turn under churn.
   */
  private final Cache<Map<ServiceKey, ServiceEndpoints>, Map<String, List<PodEndpoint>>> podIndex =
      Caffeine.newBuilder().weakKeys().maximumSize(4).build();

  /** An endpoint of a Pod, and the Service it is an endpoint of. */
  private record PodEndpoint(ServiceKey service, Endpoint endpoint) {}

  /*
   * What proxies name is cached, so that thousands of proxies asking for the same names share one
   * parse and one build; but clients choose the names, so each cache is bounded by its bytes
   * (approximately: string and message sizes, plus object overhead) and forgets a name no stream
   * has asked about for a while. Names a client makes up then cost it, never the heap: measured
   * with 200 streams of 1,000 made-up server Listeners each, a count bound (100,000 entries) left
   * 102 MiB behind after the streams had closed. An entry dropped is built again when asked for.
   */

  /**
   * Parsed names, per type: about 27,000 names of 60 bytes, which holds the few spellings of each
   * port of a 5,000-Service mesh that proxies use.
   */
  private static final long MAX_REF_BYTES = 8L << 20;

  /**
   * Outbound Listeners and cluster lists of scoped views. A view of 100 HTTP Services weighs about
   * 60 KiB (a 50 KiB Listener), so this holds some 1,000 distinct views; the least used of more are
   * built again when next asked for.
   */
  private static final long MAX_SCOPED_VIEW_BYTES = 64L << 20;

  /** Answers for missing names: client Listeners that fail fast, empty clusters. */
  private static final long MAX_PLACEHOLDER_BYTES = 4L << 20;

  /**
   * Listeners of xDS-enabled servers of the mesh's Services, about 1 KiB each plus their
   * authorization rules; addresses that serve no Service are built per request, never cached.
   */
  private static final long MAX_SERVER_LISTENER_BYTES = 32L << 20;

  /** How long an entry no one asks about stays. Pushes ask about every subscribed name. */
  private static final Duration IDLE = Duration.ofMinutes(2);

  /**
   * A resource and the registry values it was built from: the Service, its endpoints, what is
   * attached to it and to its namespace (each null when the resource does not depend on it).
   */
  private record Memo(
      MeshService service,
      ServiceEndpoints endpoints,
      ServiceAttachments attachments,
      ServiceAttachments namespaceAttachments,
      Resource resource) {

    /**
     * Whether the memo was built from these very values. Identity, on purpose: snapshots share
     * unchanged values by reference, so this is exact, and constant time however large they are.
     */
    @SuppressWarnings("ReferenceEquality")
    boolean builtFrom(
        MeshService service,
        ServiceEndpoints endpoints,
        ServiceAttachments attachments,
        ServiceAttachments namespaceAttachments) {
      return this.service == service
          && this.endpoints == endpoints
          && this.attachments == attachments
          && this.namespaceAttachments == namespaceAttachments;
    }
  }

  ResourceCache(ResourceNames names, MutualTls mutualTls, String rootNamespace) {
    this.names = names;
    this.mutualTls = mutualTls;
    this.rootNamespace = rootNamespace;
    for (ResourceType type : ResourceType.values()) {
      refs.put(
          type,
          bounded(MAX_REF_BYTES)
              .<String, ResourceRef>weigher((name, ref) -> 3 * name.length() + 128)
              .build());
    }
    for (ResourceType type : List.of(ResourceType.LISTENER, ResourceType.CLUSTER)) {
      envoyRefs.put(
          type,
          bounded(MAX_REF_BYTES)
              .<String, ResourceRef>weigher((name, ref) -> 3 * name.length() + 128)
              .build());
    }
    zonedRefs =
        bounded(MAX_REF_BYTES)
            .<ZonedName, ResourceRef>weigher(
                (key, ref) -> 3 * (key.name().length() + key.zone().length()) + 160)
            .build();
    placeholders =
        bounded(MAX_PLACEHOLDER_BYTES)
            .<ResourceRef, Resource>weigher((ref, resource) -> weight(resource))
            .build();
    serverListeners =
        bounded(MAX_SERVER_LISTENER_BYTES)
            .<InboundKey, Resource>weigher((key, resource) -> weight(resource))
            .build();
    scoped =
        bounded(MAX_SCOPED_VIEW_BYTES)
            .<EgressView, OutboundView>weigher((view, built) -> view.weight() + built.weight())
            .build();
  }

  private static Caffeine<Object, Object> bounded(long bytes) {
    // The scheduler expires idle entries on time, not only when the cache is next used: a flood
    // of made-up names is gone a couple of minutes after it stops, whatever comes next. It and
    // Caffeine's ticker stay the system's, not the distributor's injected clock: expiry bounds
    // memory; it times no figure, and no push waits on it.
    return Caffeine.newBuilder()
        .maximumWeight(bytes)
        .expireAfterAccess(IDLE)
        .scheduler(Scheduler.systemScheduler());
  }

  /** About what a Resource holds: its name twice (name and key), its body, the objects. */
  private static int weight(Resource resource) {
    return 4 * resource.name().length() + resource.body().getValue().size() + 256;
  }

  /** The parsed form of a requested name, shared by every stream that asks for it. */
  ResourceRef ref(ResourceType type, String name) {
    return refs.get(type).get(name, n -> ResourceRef.parse(type, n, names));
  }

  /**
   * The parsed form of a name an Envoy sidecar asks for: its own for Listeners and Clusters, which
   * are built for Envoy, and the shared one for routes and endpoints, which are the same for all.
   */
  ResourceRef envoyRef(ResourceType type, String name) {
    Cache<String, ResourceRef> own = envoyRefs.get(type);
    return own == null
        ? ref(type, name)
        : own.get(name, n -> ResourceRef.parse(type, n, names).forEnvoy());
  }

  /**
   * The parsed form of a load assignment name asked for by a proxy in {@code zone}: with locality
   * failover on its Service, the proxy's zone comes first ({@link Translator#loadAssignment}), so
   * proxies of each zone share a ref of their own. Without failover it resolves to the shared
   * assignment.
   */
  ResourceRef zonedRef(String name, String zone) {
    return zonedRefs.get(
        new ZonedName(name, zone), key -> ref(ResourceType.ENDPOINT, name).inZone(zone));
  }

  private record ZonedName(String name, String zone) {}

  ResourceNames names() {
    return names;
  }

  /**
   * What a state-of-the-world stream sends for a name that does not exist: for a client Listener,
   * {@link Translator#unknownClientListener}, so the client fails fast instead of waiting out
   * gRPC's 15 s does-not-exist timer, and for the cluster it routes to, a cluster without
   * endpoints; a cluster and load assignment without endpoints for a Service that does not exist,
   * too; for other names, nothing (null). The delta protocol needs no such thing: it says {@code
   * removed_resources}.
   */
  Resource placeholder(ResourceRef ref) {
    // Depends on the name alone, and every stream asking for a missing name asks again at each
    // push: built (and hashed) once per name. (Caffeine caches no null: names without one are
    // looked at again, which costs a type check.)
    return placeholders.get(ref, ResourceCache::buildPlaceholder);
  }

  private static Resource buildPlaceholder(ResourceRef ref) {
    if (ref.isEnvoy() && ref.type() == ResourceType.LISTENER) {
      return null; // gRPC's fail-fast Listener means nothing to Envoy, which asks by wildcard
    }
    if (ref.type() == ResourceType.LISTENER && !ref.isServerListener()) {
      return Resource.of(ref.name(), Translator.unknownClientListener(ref.name()));
    }
    // A route may name a backend Service that does not exist (yet): its share of requests must
    // fail at once, as the Gateway API asks, rather than wait out gRPC's timer. A cluster without
    // endpoints does that, for an unknown client Listener's calls too.
    boolean failsEveryCall = ref.service() != null || ResourceNames.isNotInMesh(ref.name());
    if (ref.type() == ResourceType.CLUSTER && failsEveryCall) {
      return Resource.of(
          ref.name(),
          Translator.cluster(ref.name(), Translator.UNKNOWN_PORT, AttachedPolicies.NONE));
    }
    if (ref.type() == ResourceType.ENDPOINT && failsEveryCall) {
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

  /**
   * The Listener of an xDS-enabled server, for the workload whose node asks: it depends on the
   * Services that workload serves on the port (their AuthorizationPolicies), so it is looked up per
   * stream, not shared by name like the others; streams of servers of the same Services share it.
   */
  Resource serverListener(MeshState state, ResourceRef ref, Inbound.Workload workload) {
    // A server that names its Pod (Weft's bootstraps do) is found through the index by Pod; the
    // others need Inbound's scan of the mesh's endpoints.
    List<ServiceKey> services =
        workload.pod().isEmpty() || workload.namespace().isEmpty()
            ? Inbound.services(state, workload, ref.server())
            : servicesOfPod(state, workload, ref.server().port());
    // The namespaces' attachments last: a namespace's MeshTLSPolicy applies too.
    List<String> namespaces =
        services.isEmpty()
            ? List.of(workload.namespace())
            : services.stream().map(ServiceKey::namespace).distinct().toList();
    ServiceAttachments[] attachments = new ServiceAttachments[services.size() + namespaces.size()];
    for (int i = 0; i < services.size(); i++) {
      attachments[i] = state.attachments(services.get(i));
    }
    for (int i = 0; i < namespaces.size(); i++) {
      attachments[services.size() + i] = state.namespaceAttachments(namespaces.get(i));
    }
    if (services.isEmpty()) {
      // An address that serves no Service of the mesh, maybe made up: not worth a cache entry.
      return buildServerListener(state, ref, workload, services);
    }
    return serverListeners.get(
        new InboundKey(ref.name(), services, attachments),
        key -> buildServerListener(state, ref, workload, services));
  }

  private Resource buildServerListener(
      MeshState state, ResourceRef ref, Inbound.Workload workload, List<ServiceKey> services) {
    return Resource.of(
        ref.name(),
        Translator.serverListener(
            ref.name(),
            ref.server().ip(),
            ref.server().port(),
            inboundMode(state, workload, services) == MutualTlsMode.STRICT,
            AuthorizationTranslator.filters(
                Inbound.authorization(state, services), mutualTls.trustDomain())));
  }

  /**
   * The mode a server enforces: the strictest of the Services it serves (a server shared by a
   * STRICT and a DISABLE Service must not let plaintext reach the first); serving none known, its
   * namespace's, else the mesh's. PERMISSIVE serves plaintext: a gRPC server cannot tell TLS from
   * plaintext on one port.
   */
  private MutualTlsMode inboundMode(
      MeshState state, Inbound.Workload workload, List<ServiceKey> services) {
    if (services.isEmpty()) {
      return TlsModes.ofNamespace(state, workload.namespace()).orElse(mutualTls.defaultMode());
    }
    MutualTlsMode mode = MutualTlsMode.DISABLE;
    for (ServiceKey service : services) {
      mode = mode.stricter(TlsModes.of(state, service, mutualTls.defaultMode()));
    }
    return mode;
  }

  private Resource lookUp(MeshState state, ResourceRef ref) {
    if (ref.type() == ResourceType.SECRET) {
      var secret = GatewayTranslator.secret(state, ref.name());
      return secret == null ? null : Resource.of(ref.name(), secret);
    }
    if (ref.name().startsWith(GatewayTranslator.PREFIX)) {
      return gatewayResource(state, ref);
    }
    if (ref.isEnvoy() && ref.type() == ResourceType.LISTENER) {
      // A sidecar's two Listeners depend on who asks, its view (outbound) and its workload
      // (envoyInbound), and are resolved per stream; any other but a Gateway's (above) is none.
      return null;
    }
    if (ref.isEnvoy() && ref.name().equals(EnvoySidecarTranslator.PASSTHROUGH_CLUSTER)) {
      return PASSTHROUGH;
    }
    if (ref.isEnvoy() && ref.type() == ResourceType.CLUSTER) {
      int inbound = EnvoySidecarTranslator.inboundPort(ref.name());
      if (inbound > 0) {
        return Resource.of(ref.name(), EnvoySidecarTranslator.inboundCluster(inbound));
      }
      var collector = TracingTranslator.collectorOf(ref.name());
      if (collector.isPresent()) {
        return Resource.of(ref.name(), TracingTranslator.cluster(collector.get()));
      }
    }
    if (ref.isServerListener()) {
      throw new IllegalArgumentException(
          ref.name() + " is a server Listener: resolve it for its workload (serverListener)");
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
    // leaves it valid. A cluster depends on its Service's mutual TLS mode (from what is attached
    // to it and to its namespace) and, with STRICT, names the identities of its endpoints.
    boolean cluster = ref.type() == ResourceType.CLUSTER;
    // A load assignment asked for from a zone depends on the Service's TrafficPolicy too: only
    // locality failover makes it differ from the one every proxy shares.
    boolean zoned = !ref.zone().isEmpty();
    ServiceAttachments attachments =
        ref.type() == ResourceType.ROUTE || cluster || zoned
            ? state.attachments(service.key())
            : null;
    if (zoned && !localityFailover(service.key(), attachments)) {
      return resolve(state, ref(ResourceType.ENDPOINT, ref.name()));
    }
    ServiceAttachments namespaceAttachments =
        cluster ? state.namespaceAttachments(service.key().namespace()) : null;
    MutualTlsMode mode =
        cluster ? TlsModes.of(state, service.key(), mutualTls.defaultMode()) : null;
    boolean needsEndpoints = ref.type() == ResourceType.ENDPOINT || mode == MutualTlsMode.STRICT;
    ServiceEndpoints endpoints = needsEndpoints ? state.endpoints(service.key()) : null;
    ConcurrentHashMap<MemoKey, Memo> memos =
        byService.computeIfAbsent(service.key(), k -> new ConcurrentHashMap<>());
    MemoKey key = new MemoKey(ref.type(), ref.name(), ref.isEnvoy(), ref.zone());
    Memo memo = memos.get(key);
    if (memo != null && memo.builtFrom(service, endpoints, attachments, namespaceAttachments)) {
      return memo.resource();
    }
    Resource built = build(ref, service, port, endpoints, attachments, mode);
    memos.put(key, new Memo(service, endpoints, attachments, namespaceAttachments, built));
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
      ServiceAttachments attachments,
      MutualTlsMode mode) {
    String canonical = names.canonical(service.key(), port.port());
    return switch (ref.type()) {
      case LISTENER -> Resource.of(ref.name(), Translator.clientListener(ref.name(), canonical));
      case ROUTE ->
          Resource.of(
              canonical,
              RouteTranslator.routeConfiguration(canonical, service, port, attachments, names));
      case CLUSTER ->
          Resource.of(
              canonical,
              securedCluster(
                  canonical, service, port, endpoints, attachments, mode, ref.isEnvoy()));
      case ENDPOINT ->
          Resource.of(
              canonical,
              Translator.loadAssignment(canonical, service, port, endpoints, ref.zone()));
      case SECRET -> throw new IllegalArgumentException("a Secret is not a Service's: " + ref);
    };
  }

  private Cluster securedCluster(
      String name,
      MeshService service,
      ServicePort port,
      ServiceEndpoints endpoints,
      ServiceAttachments attachments,
      MutualTlsMode mode,
      boolean envoy) {
    Cluster cluster =
        Translator.cluster(name, port, AttachedPolicies.of(service.key(), attachments));
    // Clients use TLS only with servers that require it: PERMISSIVE servers accept plaintext, and
    // proxyless ones accept nothing else.
    if (mode != MutualTlsMode.STRICT) {
      return cluster;
    }
    return cluster.toBuilder()
        .setTransportSocket(
            envoy
                ? SecurityTranslator.upstreamFromSds(
                    service.key(), endpoints, mutualTls.trustDomain())
                : SecurityTranslator.upstream(service.key(), endpoints, mutualTls.trustDomain()))
        .build();
  }

  /**
   * Names are unique per type only (a route and a cluster share the canonical name), and Envoy's
   * cluster of a name is not gRPC's.
   */
  private record MemoKey(ResourceType type, String name, boolean envoy, String zone) {}

  /** Whether the Service's TrafficPolicy asks for its callers' zone first. */
  private static boolean localityFailover(ServiceKey service, ServiceAttachments attachments) {
    return AttachedPolicies.of(service, attachments)
        .traffic()
        .flatMap(TrafficPolicyValues::loadBalancing)
        .map(lb -> lb.localityFailover() == LoadBalancing.LocalityFailover.ENABLED)
        .orElse(false);
  }

  private static final Resource PASSTHROUGH =
      Resource.of(EnvoySidecarTranslator.PASSTHROUGH_CLUSTER, EnvoySidecarTranslator.passthrough());

  /**
   * What a sidecar's workload serves: per port of its Pod's endpoints, whether it speaks HTTP, the
   * strictest mTLS mode, the AuthorizationPolicies and the rate limits of the Services it serves
   * there. Sorted by port; empty without a Pod name (nothing ties the sidecar to endpoints).
   */
  private List<EnvoySidecarTranslator.InboundPort> inboundPorts(
      MeshState state, Inbound.Workload workload) {
    if (workload.pod().isEmpty()) {
      return List.of();
    }
    Map<Integer, List<ServiceKey>> servicesByPort = new TreeMap<>();
    Map<Integer, Boolean> httpByPort = new TreeMap<>();
    Map<Integer, Map<PolicyTarget, RateLimitValues.LocalLimit>> rateLimitsByPort = new TreeMap<>();
    List<PodEndpoint> endpoints =
        endpointsByPod(state).getOrDefault(workload.namespace() + "/" + workload.pod(), List.of());
    for (PodEndpoint each : endpoints) {
      ServiceKey service = each.service();
      Endpoint endpoint = each.endpoint();
      MeshService mesh = state.service(service).orElse(null);
      List<ServiceKey> services =
          servicesByPort.computeIfAbsent(endpoint.port(), port -> new ArrayList<>());
      if (!services.contains(service)) {
        services.add(service);
      }
      boolean http =
          mesh != null
              && mesh.ports().stream()
                  .anyMatch(
                      port ->
                          port.name().equals(endpoint.portName())
                              && EnvoySidecarTranslator.isHttp(port));
      httpByPort.merge(endpoint.port(), http, Boolean::logicalOr);
      rateLimit(state, service, endpoint.portName())
          .ifPresent(
              limit ->
                  rateLimitsByPort
                      .computeIfAbsent(endpoint.port(), port -> new TreeMap<>(TARGET_ORDER))
                      .put(limit.getKey(), limit.getValue()));
    }
    List<EnvoySidecarTranslator.InboundPort> ports = new ArrayList<>();
    for (Map.Entry<Integer, List<ServiceKey>> entry : servicesByPort.entrySet()) {
      List<ServiceKey> services = entry.getValue();
      services.sort(null);
      boolean http = httpByPort.get(entry.getKey());
      List<AuthorizationTranslator.Named> policies = Inbound.authorization(state, services);
      ports.add(
          new EnvoySidecarTranslator.InboundPort(
              entry.getKey(),
              http,
              inboundMode(state, workload, services),
              http ? AuthorizationTranslator.filters(policies, mutualTls.trustDomain()) : List.of(),
              rateLimitsByPort.getOrDefault(entry.getKey(), Map.of()).entrySet().stream()
                  .map(limit -> RateLimitTranslator.filter(limit.getKey(), limit.getValue()))
                  .toList(),
              http
                  ? List.of()
                  : AuthorizationTranslator.connectionFilters(
                      policies, mutualTls.trustDomain(), "inbound|" + entry.getKey())));
    }
    return ports;
  }

  private static final Comparator<PolicyTarget> TARGET_ORDER =
      Comparator.comparing(PolicyTarget::namespace)
          .thenComparing(PolicyTarget::service)
          .thenComparing(target -> target.sectionName().orElse(""));

  /**
   * The limit on requests to {@code service}'s port {@code portName}, with the target it was set
   * on: a RateLimitPolicy on the port itself, else one on the whole Service. A workload port that
   * serves several Services gets the limit of each, every one with its own bucket: a request passes
   * only if each has a token for it, so the tightest limit binds.
   */
  private static Optional<Map.Entry<PolicyTarget, RateLimitValues.LocalLimit>> rateLimit(
      MeshState state, ServiceKey service, String portName) {
    ResolvedPolicies policies = state.attachments(service).policies();
    PolicyTarget port =
        new PolicyTarget(service.namespace(), service.name(), Optional.of(portName));
    PolicyTarget whole = new PolicyTarget(service.namespace(), service.name(), Optional.empty());
    return policies
        .rateLimit(port)
        .map(limit -> Map.entry(port, limit))
        .or(() -> policies.rateLimit(whole).map(limit -> Map.entry(whole, limit)));
  }

  /** The zone of a Pod's endpoints, or empty when none of them says one or it has none. */
  String zoneOfPod(MeshState state, String namespace, String pod) {
    for (PodEndpoint each : endpointsByPod(state).getOrDefault(namespace + "/" + pod, List.of())) {
      if (!each.endpoint().zone().isEmpty()) {
        return each.endpoint().zone();
      }
    }
    return "";
  }

  /** The Services with an endpoint of the Pod, on any port. */
  Set<ServiceKey> servicesOfPod(MeshState state, String namespace, String pod) {
    Set<ServiceKey> services = new HashSet<>();
    for (PodEndpoint each : endpointsByPod(state).getOrDefault(namespace + "/" + pod, List.of())) {
      services.add(each.service());
    }
    return services;
  }

  /** The Services with an endpoint of the workload's Pod on {@code port}, sorted. */
  private List<ServiceKey> servicesOfPod(MeshState state, Inbound.Workload workload, int port) {
    List<ServiceKey> services = new ArrayList<>();
    for (PodEndpoint each :
        endpointsByPod(state)
            .getOrDefault(workload.namespace() + "/" + workload.pod(), List.of())) {
      if (each.endpoint().port() == port && !services.contains(each.service())) {
        services.add(each.service());
      }
    }
    services.sort(null);
    return services;
  }

  private Map<String, List<PodEndpoint>> endpointsByPod(MeshState state) {
    return podIndex.get(state.endpoints(), ResourceCache::indexByPod);
  }

  private static Map<String, List<PodEndpoint>> indexByPod(
      Map<ServiceKey, ServiceEndpoints> endpoints) {
    Map<String, List<PodEndpoint>> byPod = new HashMap<>();
    for (Map.Entry<ServiceKey, ServiceEndpoints> entry : endpoints.entrySet()) {
      for (Endpoint endpoint : entry.getValue().all()) {
        if (!endpoint.pod().isEmpty()) {
          byPod
              .computeIfAbsent(
                  entry.getKey().namespace() + "/" + endpoint.pod(), pod -> new ArrayList<>())
              .add(new PodEndpoint(entry.getKey(), endpoint));
        }
      }
    }
    return byPod;
  }

  /**
   * The ports of the workload's Pod, sorted: the names of its inbound clusters, and whether it has
   * an inbound Listener. Only the index is read; the Listener itself is built by {@link
   * #envoyInbound}.
   */
  List<Integer> inboundPortNumbers(MeshState state, Inbound.Workload workload) {
    if (workload.pod().isEmpty()) {
      return List.of();
    }
    TreeSet<Integer> ports = new TreeSet<>();
    for (PodEndpoint each :
        endpointsByPod(state)
            .getOrDefault(workload.namespace() + "/" + workload.pod(), List.of())) {
      ports.add(each.endpoint().port());
    }
    return List.copyOf(ports);
  }

  /**
   * A sidecar's inbound Listener, for the workload whose node asks; null when it serves nothing the
   * mesh knows. Built per stream: each workload's differs.
   */
  Resource envoyInbound(MeshState state, Inbound.Workload workload) {
    List<EnvoySidecarTranslator.InboundPort> ports = inboundPorts(state, workload);
    if (ports.isEmpty()) {
      return null;
    }
    Listener inbound = EnvoySidecarTranslator.inbound(ports);
    Optional<TelemetryValues.Tracing> tracing = tracing(state, workload.namespace());
    return Resource.of(
        EnvoySidecarTranslator.INBOUND_LISTENER,
        tracing.isEmpty()
            ? inbound
            : TracingTranslator.traced(inbound, TracingTranslator.tracing(tracing.get(), "")));
  }

  /**
   * The tracing of the proxies of {@code namespace}: its Telemetry's, over the root namespace's;
   * empty when neither names a collector.
   */
  Optional<TelemetryValues.Tracing> tracing(MeshState state, String namespace) {
    return state.tracing(namespace, rootNamespace);
  }

  /**
   * A sidecar's outbound Listener: its view's, shared, with the tracing of the sidecar's namespace
   * added (one copy per setting, shared too).
   */
  Resource envoyOutbound(MeshState state, EgressView view, String namespace) {
    Resource shared = outbound(state, view).listener();
    Optional<TelemetryValues.Tracing> tracing = tracing(state, namespace);
    if (tracing.isEmpty()) {
      return shared;
    }
    return tracedOutbound
        .get(shared, listener -> new ConcurrentHashMap<>())
        .computeIfAbsent(
            tracing.get(),
            settings ->
                Resource.of(
                    shared.name(),
                    TracingTranslator.traced(
                        listenerOf(shared), TracingTranslator.tracing(settings, ""))));
  }

  private static Listener listenerOf(Resource resource) {
    try {
      return resource.body().unpack(Listener.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(resource.name() + " is not a Listener", e);
    }
  }

  /**
   * The view of Gateway {@code gateway} ({@code namespace/name}) in {@code state}: built once per
   * snapshot and Gateway, for all the resources of its Envoy and for the names it may ask for.
   */
  GatewayTranslator.View gatewayView(MeshState state, String gateway) {
    GatewayMemo memo = gateways.getIfPresent(gateway);
    if (memo != null && memo.stateVersion() == state.version()) {
      return memo.view();
    }
    int slash = gateway.indexOf('/');
    GatewayTranslator.View view =
        slash <= 0
            ? GatewayTranslator.View.NONE
            : traced(
                GatewayTranslator.view(
                    state, gateway.substring(0, slash), gateway.substring(slash + 1), names),
                state,
                gateway.substring(0, slash),
                gateway.substring(slash + 1));
    gateways.put(gateway, new GatewayMemo(state.version(), view));
    return view;
  }

  private record GatewayMemo(long stateVersion, GatewayTranslator.View view) {}

  /**
   * A Gateway's view with the tracing of its namespace in its Listeners, which name the Gateway as
   * the service, and the collector's cluster among its clusters.
   */
  private GatewayTranslator.View traced(
      GatewayTranslator.View view, MeshState state, String namespace, String name) {
    Optional<TelemetryValues.Tracing> tracing = tracing(state, namespace);
    if (tracing.isEmpty() || view.listeners().isEmpty()) {
      return view;
    }
    var config = TracingTranslator.tracing(tracing.get(), name + "." + namespace);
    SortedMap<String, Listener> listeners = new TreeMap<>();
    view.listeners()
        .forEach(
            (listener, built) -> listeners.put(listener, TracingTranslator.traced(built, config)));
    SortedSet<String> clusters = new TreeSet<>(view.clusters());
    clusters.add(TracingTranslator.clusterName(tracing.get().otlp()));
    return new GatewayTranslator.View(listeners, view.routes(), clusters, view.secrets());
  }

  /** A Listener or RouteConfiguration of a Gateway, from its view. */
  private Resource gatewayResource(MeshState state, ResourceRef ref) {
    String gateway = GatewayTranslator.gatewayOf(ref.name()).orElse(null);
    if (gateway == null) {
      return null;
    }
    GatewayTranslator.View view = gatewayView(state, gateway);
    com.google.protobuf.Message message =
        switch (ref.type()) {
          case LISTENER -> view.listeners().get(ref.name());
          case ROUTE -> view.routes().get(ref.name());
          default -> null;
        };
    return message == null ? null : Resource.of(ref.name(), message);
  }

  /**
   * The outbound Listener and wildcard Clusters of sidecars with {@code view}: built once per
   * change of the Services it includes, and shared by every sidecar of the view. Sidecars of one
   * view that ask at once wait for one build: Caffeine's {@code compute} runs one at a time per key
   * (and {@link #unscopedLock} for the whole mesh's).
   */
  OutboundView outbound(MeshState state, EgressView view) {
    if (view.isAll()) {
      OutboundView memo = unscoped;
      if (memo != null && memo.serves(state)) {
        return memo;
      }
      synchronized (unscopedLock) {
        unscoped = refreshed(unscoped, state, view);
        return unscoped;
      }
    }
    OutboundView memo = scoped.getIfPresent(view);
    if (memo != null && memo.serves(state)) {
      return memo;
    }
    return scoped.asMap().compute(view, (key, old) -> refreshed(old, state, key));
  }

  private OutboundView refreshed(OutboundView old, MeshState state, EgressView view) {
    if (old != null && old.serves(state)) {
      return old;
    }
    List<MeshService> included = new ArrayList<>();
    for (MeshService service : state.services().values()) {
      if (view.includes(service.key())) {
        included.add(service);
      }
    }
    if (old != null && sameInstances(old.included(), included)) {
      return new OutboundView(
          state.version(), state.services(), old.included(), old.listener(), old.clusters());
    }
    Resource listener =
        Resource.of(
            EnvoySidecarTranslator.OUTBOUND_LISTENER,
            EnvoySidecarTranslator.outbound(included, names));
    List<ResourceRef> clusters = new ArrayList<>();
    for (MeshService service : included) {
      for (ServicePort port : service.ports()) {
        clusters.add(envoyRef(ResourceType.CLUSTER, names.canonical(service.key(), port.port())));
      }
    }
    clusters.sort(Comparator.comparing(ResourceRef::name));
    return new OutboundView(
        state.version(), state.services(), List.copyOf(included), listener, List.copyOf(clusters));
  }

  /**
   * Whether two lists hold the very same Services (snapshots share every unchanged one), in any
   * order: a snapshot may iterate its Services in another order after an unrelated change.
   */
  private static boolean sameInstances(List<MeshService> before, List<MeshService> now) {
    if (before.size() != now.size()) {
      return false;
    }
    Set<MeshService> held = Collections.newSetFromMap(new IdentityHashMap<>(before.size()));
    held.addAll(before);
    return held.containsAll(now);
  }

  /**
   * A server Listener's inputs: its name, the Services it serves and their attachments. The
   * attachments are compared by identity, as in {@link Memo}: snapshots share unchanged values.
   */
  private static final class InboundKey {
    private final String name;
    private final List<ServiceKey> services;
    private final ServiceAttachments[] attachments;
    private final int hash;

    InboundKey(String name, List<ServiceKey> services, ServiceAttachments[] attachments) {
      this.name = name;
      this.services = services;
      this.attachments = attachments;
      int h = name.hashCode() * 31 + services.hashCode();
      for (ServiceAttachments each : attachments) {
        h = h * 31 + System.identityHashCode(each);
      }
      this.hash = h;
    }

    @Override
    @SuppressWarnings("ReferenceEquality")
    public boolean equals(Object other) {
      if (!(other instanceof InboundKey key)
          || !name.equals(key.name)
          || !services.equals(key.services)
          || attachments.length != key.attachments.length) {
        return false;
      }
      for (int i = 0; i < attachments.length; i++) {
        if (attachments[i] != key.attachments[i]) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
