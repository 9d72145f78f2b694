package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import dev.weft.registry.DirectorySource;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every resource Weft sends passes Envoy's own constraints ({@link EnvoyConstraints}): for the demo
 * config, and for a mesh that uses every feature Weft translates, each with plaintext and with
 * mutual TLS as the mesh's default. "Sent" is what the ADS streams resolve ({@link ResourceCache}):
 * every name a proxy of the mesh asks for, each server Listener for each workload, placeholders for
 * names that exist nowhere, and {@link MeshResources} besides; and the Envoy bootstraps Weft
 * prints.
 */
class EnvoyConstraintsOfWeftOutputTest {

  /** Surefire runs in the module's directory; the examples live at the repository's root. */
  private static final Path EXAMPLES = Path.of("..", "examples");

  private static final ResourceNames NAMES = new ResourceNames("cluster.local");
  private static final List<MutualTls> MESH_DEFAULTS =
      List.of(MutualTls.DISABLED, MutualTls.strict("cluster.local"));

  @TempDir Path config;

  @Test
  void theDemoConfigPasses() throws IOException {
    copyYaml(EXAMPLES.resolve("demo"));
    MeshState state = load();
    assertThat(state.rejections()).isEmpty();

    for (MutualTls meshDefault : MESH_DEFAULTS) {
      Map<String, Any> sent = sent(state, meshDefault);

      assertThat(sent).hasSizeGreaterThan(20);
      assertThat(violations(sent)).as("with %s", meshDefault).isEmpty();
    }
  }

  @Test
  void aMeshUsingEveryFeaturePasses() throws IOException {
    copyYaml(EXAMPLES.resolve("demo"));
    copyYaml(EXAMPLES.resolve("policies"));
    Files.writeString(config.resolve("bookinfo.yaml"), BOOKINFO);
    Files.writeString(config.resolve("shop.yaml"), SHOP);
    MeshState state = load();
    assertThat(state.rejections()).as("every object of the mesh is accepted").isEmpty();

    for (MutualTls meshDefault : MESH_DEFAULTS) {
      Map<String, Any> sent = sent(state, meshDefault);

      assertThat(violations(sent)).as("with %s", meshDefault).isEmpty();
      assertEveryFeatureIsThere(sent.values());
      assertThat(sent.keySet())
          .as("sidecars' inbound Listeners were checked too")
          .anyMatch(key -> key.startsWith("Envoy inbound LISTENER"));
    }
  }

  /**
   * Tracing at the bounds a Telemetry allows: 0 and 100 %, collectors by DNS name (the longest),
   * IPv4 and IPv6, the highest port; for a sidecar (no service name) and a Gateway.
   */
  @Test
  void tracingAtItsBoundsPasses() {
    Listener outbound =
        EnvoySidecarTranslator.outbound(
            List.of(
                new MeshService(
                    new ServiceKey("shop", "reviews"),
                    List.of(new ServicePort("http", "TCP", "http", 9080, "9080")),
                    List.of("10.96.0.10"),
                    Map.of(),
                    false)),
            NAMES);
    String longest = ("a".repeat(63) + ".").repeat(3) + "a".repeat(61);
    List<String> violations = new ArrayList<>();
    for (TelemetryValues.OtlpEndpoint collector :
        List.of(
            new TelemetryValues.OtlpEndpoint(longest, 65535),
            new TelemetryValues.OtlpEndpoint("10.96.0.12", 4317),
            new TelemetryValues.OtlpEndpoint("fd00::12", 1))) {
      Cluster cluster = TracingTranslator.cluster(collector);
      assertThat(TracingTranslator.collectorOf(cluster.getName())).contains(collector);
      violations.addAll(EnvoyConstraints.violations(cluster));
      for (double percentage : List.of(0.0, 0.001, 100.0)) {
        for (String serviceName : List.of("", "ingress.shop")) {
          Listener traced =
              TracingTranslator.traced(
                  outbound,
                  TracingTranslator.tracing(
                      new TelemetryValues.Tracing(percentage, collector), serviceName));
          assertThat(managers(traced)).isNotEmpty().allMatch(HttpConnectionManager::hasTracing);
          violations.addAll(EnvoyConstraints.violations(traced));
        }
      }
    }

    assertThat(longest).hasSize(253);
    assertThat(violations).isEmpty();
  }

  @Test
  void everyEnvoyBootstrapPasses() {
    Bootstrap.Workload bare = new Bootstrap.Workload("shop", "reviews", "", "");
    Bootstrap.Workload full = new Bootstrap.Workload("shop", "reviews", "reviews-0", "zone-a");
    Optional<EnvoyBootstrap.ControlPlaneTls> tls =
        Optional.of(
            new EnvoyBootstrap.ControlPlaneTls(
                "spiffe://cluster.local/ns/weft-system/sa/weft",
                EnvoyBootstrap.DEFAULT_SDS_SOCKET));
    List<String> violations = new ArrayList<>();
    for (EnvoyBootstrap.ProxyType type : EnvoyBootstrap.ProxyType.values()) {
      for (EnvoyBootstrap.Proxy proxy :
          List.of(
              new EnvoyBootstrap.Proxy(type, bare, "", Map.of()),
              new EnvoyBootstrap.Proxy(type, full, "10.2.0.1", Map.of("app", "reviews")))) {
        for (EnvoyBootstrap.ControlPlane controlPlane :
            List.of(
                new EnvoyBootstrap.ControlPlane(
                    "weft.weft-system.svc", 15010, Optional.empty(), true),
                new EnvoyBootstrap.ControlPlane("weft.weft-system.svc", 15012, tls, false))) {
          for (String violation :
              EnvoyConstraints.violations(EnvoyBootstrap.of(proxy, controlPlane))) {
            violations.add(proxy + " " + controlPlane + ": " + violation);
          }
        }
      }
    }

    assertThat(violations).isEmpty();
  }

  // What Weft sends.

  /** Every resource the ADS streams send for {@code state}, by type and requested name. */
  private static Map<String, Any> sent(MeshState state, MutualTls meshDefault) {
    ResourceCache cache = new ResourceCache(NAMES, meshDefault, "weft-system");
    Map<String, Any> sent = new LinkedHashMap<>();
    for (MeshService service : state.services().values()) {
      for (ServicePort port : service.ports()) {
        for (String listener : NAMES.listenerNames(service, port)) {
          send(sent, cache, state, ResourceType.LISTENER, listener);
        }
        String canonical = NAMES.canonical(service.key(), port.port());
        send(sent, cache, state, ResourceType.ROUTE, canonical);
        send(sent, cache, state, ResourceType.CLUSTER, canonical);
        send(sent, cache, state, ResourceType.ENDPOINT, canonical);
        sendToEnvoy(sent, cache, state, ResourceType.CLUSTER, canonical);
      }
    }
    // What an Envoy sidecar gets of its own: its outbound Listener, of the whole mesh or of the
    // Services it declares (here, a namespace's), and the passthrough cluster.
    sent.put("Envoy outbound LISTENER", cache.outbound(state, EgressView.ALL).listener().body());
    String someNamespace = state.services().keySet().iterator().next().namespace();
    EgressView scoped =
        ((Validated.Valid<EgressView>)
                EgressView.of(List.of(new EgressHosts.Host(someNamespace, "*")), someNamespace))
            .value();
    sent.put(
        "Envoy outbound LISTENER of " + scoped, cache.outbound(state, scoped).listener().body());
    sendToEnvoy(
        sent, cache, state, ResourceType.CLUSTER, EnvoySidecarTranslator.PASSTHROUGH_CLUSTER);
    // With a Telemetry (the policies' example is mesh-wide): the sidecar's traced copy of its
    // outbound Listener, and the collector's cluster.
    sent.put(
        "Envoy outbound LISTENER traced for " + someNamespace,
        cache.envoyOutbound(state, EgressView.ALL, someNamespace).body());
    cache
        .tracing(state, someNamespace)
        .ifPresent(
            tracing ->
                sendToEnvoy(
                    sent,
                    cache,
                    state,
                    ResourceType.CLUSTER,
                    TracingTranslator.clusterName(tracing.otlp())));
    // Each workload's servers, by the wildcard addresses and by their own; and an unknown server.
    for (Map.Entry<ServiceKey, ServiceEndpoints> service : state.endpoints().entrySet()) {
      String namespace = service.getKey().namespace();
      for (Endpoint endpoint : service.getValue().all()) {
        Inbound.Workload pod = new Inbound.Workload(namespace, endpoint.pod());
        Inbound.Workload unnamed = new Inbound.Workload(namespace, "");
        serve(sent, cache, state, pod, "0.0.0.0:" + endpoint.port());
        serve(sent, cache, state, pod, "[::]:" + endpoint.port());
        serve(sent, cache, state, unnamed, address(endpoint));
        // The Pod's Envoy sidecar, had it one: its inbound Listener and clusters.
        // (An endpoint whose slice names no Pod has none.)
        Resource inbound = cache.envoyInbound(state, pod);
        if (inbound != null) {
          sent.put("Envoy inbound LISTENER for " + pod, inbound.body());
        }
        for (int port : cache.inboundPortNumbers(state, pod)) {
          sendToEnvoy(
              sent,
              cache,
              state,
              ResourceType.CLUSTER,
              EnvoySidecarTranslator.inboundClusterName(port));
        }
      }
    }
    serve(sent, cache, state, Inbound.Workload.UNKNOWN, "10.255.0.1:9999");
    // Names that exist nowhere get placeholders.
    send(sent, cache, state, ResourceType.LISTENER, "nothing.nowhere:80");
    send(sent, cache, state, ResourceType.LISTENER, "not a service name");
    send(sent, cache, state, ResourceType.LISTENER, "");
    send(sent, cache, state, ResourceType.CLUSTER, "nothing.nowhere.svc.cluster.local:80");
    send(sent, cache, state, ResourceType.ENDPOINT, "nothing.nowhere.svc.cluster.local:80");
    // The clusters the routes send to, mirror to, or name in vain: their proxies ask for them.
    for (String cluster : clustersNamedByRoutes(sent.values())) {
      send(sent, cache, state, ResourceType.CLUSTER, cluster);
      send(sent, cache, state, ResourceType.ENDPOINT, cluster);
    }
    // What MeshResources gives tools, such as the benchmarks' reference control plane.
    MeshResources.of(state, NAMES)
        .forEach(
            (type, resources) -> {
              for (Message resource : resources) {
                sent.put("MeshResources " + type + " " + nameOf(resource), Any.pack(resource));
              }
            });
    return sent;
  }

  private static void send(
      Map<String, Any> sent, ResourceCache cache, MeshState state, ResourceType type, String name) {
    ResourceRef ref = cache.ref(type, name);
    Resource resource = cache.resolve(state, ref);
    if (resource == null) {
      resource = cache.placeholder(ref);
    }
    if (resource != null) {
      sent.put(type + " \"" + name + "\"", resource.body());
    }
  }

  private static void sendToEnvoy(
      Map<String, Any> sent, ResourceCache cache, MeshState state, ResourceType type, String name) {
    Resource resource = cache.resolve(state, cache.envoyRef(type, name));
    assertThat(resource).as("Envoy's %s %s", type, name).isNotNull();
    sent.put("Envoy " + type + " \"" + name + "\"", resource.body());
  }

  private static void serve(
      Map<String, Any> sent,
      ResourceCache cache,
      MeshState state,
      Inbound.Workload workload,
      String address) {
    String name = String.format(ResourceNames.SERVER_LISTENER_TEMPLATE, address);
    Resource resource =
        cache.serverListener(state, cache.ref(ResourceType.LISTENER, name), workload);
    sent.put("LISTENER \"" + name + "\" for " + workload, resource.body());
  }

  private static String address(Endpoint endpoint) {
    return (endpoint.address().contains(":") ? "[" + endpoint.address() + "]" : endpoint.address())
        + ":"
        + endpoint.port();
  }

  /** The clusters routes name, in route configurations of their own or inside Listeners. */
  private static Set<String> clustersNamedByRoutes(Iterable<Any> sent) {
    List<RouteConfiguration> configurations =
        new ArrayList<>(unpacked(sent, RouteConfiguration.class));
    for (Listener listener : unpacked(sent, Listener.class)) {
      managers(listener).map(HttpConnectionManager::getRouteConfig).forEach(configurations::add);
    }
    Set<String> clusters = new TreeSet<>();
    for (RouteConfiguration routes : configurations) {
      for (VirtualHost host : routes.getVirtualHostsList()) {
        for (Route route : host.getRoutesList()) {
          RouteAction action = route.getRoute();
          if (!action.getCluster().isEmpty()) {
            clusters.add(action.getCluster());
          }
          for (WeightedCluster.ClusterWeight weighted :
              action.getWeightedClusters().getClustersList()) {
            clusters.add(weighted.getName());
          }
          for (RouteAction.RequestMirrorPolicy mirror : action.getRequestMirrorPoliciesList()) {
            clusters.add(mirror.getCluster());
          }
        }
      }
    }
    return clusters;
  }

  private static String nameOf(Message resource) {
    return resource instanceof ClusterLoadAssignment assignment
        ? assignment.getClusterName()
        : (String) resource.getField(resource.getDescriptorForType().findFieldByName("name"));
  }

  private static List<String> violations(Map<String, Any> sent) {
    List<String> violations = new ArrayList<>();
    sent.forEach(
        (name, body) -> {
          for (String violation : EnvoyConstraints.violations(body)) {
            violations.add(name + ": " + violation);
          }
        });
    return violations;
  }

  // Proof that the mesh exercises what it claims to: the test would pass vacuously otherwise.

  private static void assertEveryFeatureIsThere(Iterable<Any> sent) {
    List<Cluster> clusters = unpacked(sent, Cluster.class);
    List<Listener> listeners = unpacked(sent, Listener.class);
    List<HttpConnectionManager> managers =
        listeners.stream().flatMap(EnvoyConstraintsOfWeftOutputTest::managers).toList();
    List<Route> routes =
        Stream.concat(
                unpacked(sent, RouteConfiguration.class).stream(),
                managers.stream().map(HttpConnectionManager::getRouteConfig))
            .flatMap(config -> config.getVirtualHostsList().stream())
            .flatMap(host -> host.getRoutesList().stream())
            .toList();
    List<ClusterLoadAssignment> assignments = unpacked(sent, ClusterLoadAssignment.class);

    Map<String, Boolean> features = new LinkedHashMap<>();
    features.put("api listener", listeners.stream().anyMatch(Listener::hasApiListener));
    features.put(
        "server listener with TLS",
        listeners.stream()
            .flatMap(l -> l.getFilterChainsList().stream())
            .anyMatch(FilterChain::hasTransportSocket));
    for (String rbac :
        List.of(AuthorizationTranslator.DENY_FILTER, AuthorizationTranslator.ALLOW_FILTER)) {
      features.put(
          rbac,
          managers.stream()
              .flatMap(m -> m.getHttpFiltersList().stream())
              .anyMatch(f -> f.getName().equals(rbac)));
    }
    features.put("tracing", managers.stream().anyMatch(HttpConnectionManager::hasTracing));
    features.put(
        "tracing cluster",
        clusters.stream()
            .anyMatch(cluster -> cluster.getName().startsWith(TracingTranslator.CLUSTER_PREFIX)));
    features.put(
        "local rate limit",
        managers.stream()
            .flatMap(m -> m.getHttpFiltersList().stream())
            .anyMatch(f -> f.getName().startsWith(RateLimitTranslator.FILTER_PREFIX)));
    features.put(
        "local rate limits of two Services on one port",
        managers.stream()
            .anyMatch(
                m ->
                    m.getHttpFiltersList().stream()
                            .filter(f -> f.getName().startsWith(RateLimitTranslator.FILTER_PREFIX))
                            .count()
                        == 2));
    features.put("cluster with TLS", clusters.stream().anyMatch(Cluster::hasTransportSocket));
    features.put("outlier detection", clusters.stream().anyMatch(Cluster::hasOutlierDetection));
    features.put("circuit breakers", clusters.stream().anyMatch(Cluster::hasCircuitBreakers));
    features.put("ring hash", clusters.stream().anyMatch(Cluster::hasRingHashLbConfig));
    features.put(
        "least request",
        clusters.stream().anyMatch(c -> c.getLbPolicy() == Cluster.LbPolicy.LEAST_REQUEST));
    features.put(
        "HTTP/2 upstream",
        clusters.stream().anyMatch(c -> c.getTypedExtensionProtocolOptionsCount() > 0));
    features.put("load reporting", clusters.stream().anyMatch(Cluster::hasLrsServer));
    Map<String, Predicate<Route>> routeFeatures = new LinkedHashMap<>();
    routeFeatures.put("retry back-off", r -> r.getRoute().getRetryPolicy().hasRetryBackOff());
    routeFeatures.put(
        "retry on codes", r -> r.getRoute().getRetryPolicy().getRetriableStatusCodesCount() > 0);
    routeFeatures.put("per-try timeout", r -> r.getRoute().getRetryPolicy().hasPerTryTimeout());
    routeFeatures.put("timeout", r -> r.getRoute().hasTimeout());
    routeFeatures.put(
        "hash on header",
        r -> r.getRoute().getHashPolicyList().stream().anyMatch(RouteAction.HashPolicy::hasHeader));
    routeFeatures.put(
        "hash on cookie",
        r -> r.getRoute().getHashPolicyList().stream().anyMatch(RouteAction.HashPolicy::hasCookie));
    routeFeatures.put(
        "hash on source IP",
        r ->
            r.getRoute().getHashPolicyList().stream()
                .anyMatch(RouteAction.HashPolicy::hasConnectionProperties));
    routeFeatures.put("fault", r -> r.containsTypedPerFilterConfig(PolicyTranslator.FAULT_FILTER));
    routeFeatures.put(
        "mirror share",
        r ->
            r.getRoute().getRequestMirrorPoliciesList().stream()
                .anyMatch(RouteAction.RequestMirrorPolicy::hasRuntimeFraction));
    routeFeatures.put("header set", r -> r.getRequestHeadersToAddCount() > 0);
    routeFeatures.put("header removed", r -> r.getRequestHeadersToRemoveCount() > 0);
    routeFeatures.put("weighted clusters", r -> r.getRoute().hasWeightedClusters());
    routeFeatures.put("non-forwarding", Route::hasNonForwardingAction);
    routeFeatures.put("regex path", r -> r.getMatch().hasSafeRegex());
    routeFeatures.put("exact path", r -> r.getMatch().hasPath());
    routeFeatures.put("header match", r -> r.getMatch().getHeadersCount() > 0);
    routeFeatures.put("query match", r -> r.getMatch().getQueryParametersCount() > 0);
    routeFeatures.forEach((name, feature) -> features.put(name, routes.stream().anyMatch(feature)));
    features.put(
        "IPv6 endpoint",
        assignments.stream()
            .flatMap(a -> a.getEndpointsList().stream())
            .flatMap(l -> l.getLbEndpointsList().stream())
            .anyMatch(
                e -> e.getEndpoint().getAddress().getSocketAddress().getAddress().contains(":")));
    features.put(
        "draining endpoint",
        assignments.stream()
            .flatMap(a -> a.getEndpointsList().stream())
            .flatMap(l -> l.getLbEndpointsList().stream())
            .anyMatch(e -> e.getHealthStatus() == HealthStatus.DRAINING));

    assertThat(features).allSatisfy((feature, present) -> assertThat(present).as(feature).isTrue());
  }

  private static Stream<HttpConnectionManager> managers(Listener listener) {
    Stream<Any> configs =
        Stream.concat(
            listener.hasApiListener()
                ? Stream.of(listener.getApiListener().getApiListener())
                : Stream.empty(),
            listener.getFilterChainsList().stream()
                .flatMap(chain -> chain.getFiltersList().stream())
                .map(Filter::getTypedConfig));
    return unpacked(configs.toList(), HttpConnectionManager.class).stream();
  }

  private static <T extends Message> List<T> unpacked(Iterable<Any> sent, Class<T> type) {
    List<T> found = new ArrayList<>();
    for (Any any : sent) {
      if (any.is(type)) {
        try {
          found.add(any.unpack(type));
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return found;
  }

  // The meshes.

  private void copyYaml(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
        Files.copy(file, config.resolve(file.getFileName()));
      }
    }
  }

  /** The registry's state after reading the config directory, as Weft runs standalone. */
  private MeshState load() {
    try (MeshRegistry registry = MeshRegistry.create();
        DirectorySource source = new DirectorySource(config, registry.registerSource("dir"))) {
      source.start();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(registry::isSynced);
      return registry.current();
    }
  }

  /**
   * Namespace bookinfo, which examples/policies configure: Services with gRPC, HTTP and two ports,
   * endpoints in zones, terminating, not ready and on IPv6; HTTPRoutes and a GRPCRoute with every
   * kind of match, split, timeout, retry, header change and mirror Weft translates, rules that
   * forward nowhere and an empty path regex (the Gateway API allows one); more TrafficPolicies,
   * FaultPolicies, MeshTLSPolicies and RateLimitPolicies (on a port; the largest bucket; two
   * Services of one Pod) on top of the examples.
   */
  private static final String BOOKINFO =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.10
        ports: [{name: grpc, port: 9080, appProtocol: grpc}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: reviews-v1, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.11
        ports: [{name: grpc, port: 9080, appProtocol: grpc}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: reviews-v2, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.12
        ports: [{name: grpc, port: 9080, appProtocol: grpc}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: reviews-shadow, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.13
        ports: [{name: grpc, port: 9080, appProtocol: grpc}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: ratings, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.20
        ports: [{name: http, port: 9080, appProtocol: http}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: details, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.30
        ports:
          - {name: http, port: 9080}
          - {name: grpc, port: 9090, appProtocol: kubernetes.io/h2c}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: productpage, namespace: bookinfo}
      spec:
        clusterIP: 10.96.1.40
        ports: [{name: http, port: 9080}]
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: reviews-v1-a
        namespace: bookinfo
        labels: {kubernetes.io/service-name: reviews-v1}
      addressType: IPv4
      ports: [{name: grpc, port: 9080}]
      endpoints:
        - addresses: ["10.1.0.1"]
          conditions: {ready: true}
          zone: zone-a
          targetRef: {kind: Pod, name: reviews-v1-0, namespace: bookinfo}
        - addresses: ["10.1.0.2"]
          conditions: {ready: false, serving: true, terminating: true}
          zone: zone-b
          targetRef: {kind: Pod, name: reviews-v1-1, namespace: bookinfo}
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: reviews-v2-a
        namespace: bookinfo
        labels: {kubernetes.io/service-name: reviews-v2}
      addressType: IPv4
      ports: [{name: grpc, port: 9080}]
      endpoints:
        - addresses: ["10.1.0.3"]
          conditions: {ready: true}
          zone: zone-a
          targetRef: {kind: Pod, name: reviews-v2-0, namespace: bookinfo}
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: reviews-a
        namespace: bookinfo
        labels: {kubernetes.io/service-name: reviews}
      addressType: IPv4
      ports: [{name: grpc, port: 9080}]
      endpoints:
        - addresses: ["10.1.0.1"]
          conditions: {ready: true}
          zone: zone-a
          targetRef: {kind: Pod, name: reviews-v1-0, namespace: bookinfo}
        - addresses: ["10.1.0.3"]
          conditions: {ready: true}
          zone: zone-a
          targetRef: {kind: Pod, name: reviews-v2-0, namespace: bookinfo}
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: ratings-v6
        namespace: bookinfo
        labels: {kubernetes.io/service-name: ratings}
      addressType: IPv6
      ports: [{name: http, port: 9080}]
      endpoints:
        - addresses: ["fd00::10"]
          conditions: {ready: true}
          targetRef: {kind: Pod, name: ratings-0, namespace: bookinfo}
        - addresses: ["fd00::11"]
          conditions: {ready: false}
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: details-a
        namespace: bookinfo
        labels: {kubernetes.io/service-name: details}
      addressType: IPv4
      ports: [{name: http, port: 9080}, {name: grpc, port: 9090}]
      endpoints:
        - addresses: ["10.1.0.5"]
          conditions: {ready: true}
          zone: zone-c
          targetRef: {kind: Pod, name: details-0, namespace: bookinfo}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-v1-0, namespace: bookinfo, labels: {app: reviews, version: v1}}
      spec: {serviceAccountName: reviews, containers: [{name: reviews, image: weft/reviews}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-v1-1, namespace: bookinfo, labels: {app: reviews, version: v1}}
      spec: {serviceAccountName: reviews, containers: [{name: reviews, image: weft/reviews}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-v2-0, namespace: bookinfo, labels: {app: reviews, version: v2}}
      spec: {serviceAccountName: reviews-v2, containers: [{name: reviews, image: weft/reviews}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: ratings-0, namespace: bookinfo, labels: {app: ratings}}
      spec: {serviceAccountName: ratings, containers: [{name: ratings, image: weft/ratings}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: details-0, namespace: bookinfo, labels: {app: details}}
      spec: {serviceAccountName: details, containers: [{name: details, image: weft/details}]}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: reviews-http, namespace: bookinfo}
      spec:
        parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
        rules:
          - name: canary
            matches:
              - path: {type: PathPrefix, value: /api/}
                headers:
                  - {name: X-Version, value: v2}
                  - {type: RegularExpression, name: x-user, value: "^(alice|bob)$"}
                queryParams:
                  - {name: debug, value: "1"}
                  - {type: RegularExpression, name: trace, value: "[a-f0-9]{32}"}
                method: GET
              - path: {type: Exact, value: /api}
            backendRefs:
              - {name: reviews-v1, port: 9080, weight: 90}
              - {name: reviews-v2, port: 9080, weight: 10}
              - {name: reviews-v2, port: 9080, weight: 0}
            timeouts: {request: 5s, backendRequest: 1s}
            retry: {attempts: 3, codes: [500, 502, 503, 504, 429], backoff: 100ms}
            filters:
              - type: RequestHeaderModifier
                requestHeaderModifier:
                  set: [{name: x-weft, value: canary}]
                  add: [{name: x-trace, value: "a b"}]
                  remove: [x-internal]
              - type: RequestMirror
                requestMirror:
                  backendRef: {name: reviews-shadow, port: 9080}
                  percent: 10
          - matches: [{path: {type: RegularExpression, value: "^/v[0-9]+/.*$"}}]
            backendRefs: [{name: reviews-v1, port: 9080}]
            timeouts: {request: 0s}
            filters:
              - type: RequestMirror
                requestMirror:
                  backendRef: {name: reviews-shadow, port: 9080}
                  fraction: {numerator: 1, denominator: 3}
          - matches: [{path: {type: PathPrefix, value: /missing}}]
            backendRefs: [{name: reviews-v9, port: 9080}]
          - matches: [{path: {type: PathPrefix, value: /elsewhere}}]
            backendRefs: [{name: reviews, namespace: shop, port: 9080}]
          - matches: [{path: {type: Exact, value: /nowhere}}]
          - matches: [{path: {type: RegularExpression, value: ""}}]
            backendRefs: [{name: reviews-v1, port: 9080}]
          - matches: [{path: {type: PathPrefix, value: /}}]
            backendRefs: [{name: reviews-v1, port: 9080}]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: GRPCRoute
      metadata: {name: reviews-grpc, namespace: bookinfo}
      spec:
        parentRefs: [{group: "", kind: Service, name: reviews}]
        rules:
          - name: canary
            matches:
              - method: {service: bookinfo.Reviews, method: Get}
                headers:
                  - {name: x-canary, value: "true"}
                  - {type: RegularExpression, name: x-user, value: "a.*"}
              - method: {service: bookinfo.Reviews}
              - method: {method: List}
              - method: {type: RegularExpression, service: "bookinfo\\\\.R.*", method: "Get.*"}
              - method: {type: RegularExpression}
            backendRefs: [{name: reviews-v2, port: 9080}]
            filters:
              - type: RequestHeaderModifier
                requestHeaderModifier: {set: [{name: x-grpc, value: "1"}]}
              - type: RequestMirror
                requestMirror: {backendRef: {name: reviews-shadow, port: 9080}}
          - backendRefs: [{name: reviews-v1, port: 9080}]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: details-grpc-port, namespace: bookinfo}
      spec:
        parentRefs: [{group: "", kind: Service, name: details, port: 9090}]
        rules:
          - backendRefs: [{name: details, port: 9090}]
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: TrafficPolicy
      metadata: {name: ratings, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: ratings}]
        loadBalancer:
          type: RingHash
          ringHash: {hashOn: {cookie: session}, minimumRingSize: 8388608}
        retry: {attempts: 1, timeout: 1s}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: TrafficPolicy
      metadata: {name: details, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: details}]
        loadBalancer:
          type: RingHash
          ringHash: {hashOn: {sourceIP: true}, minimumRingSize: 1}
        connectionLimits: {maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 0}
        outlierDetection:
          consecutiveErrors: 1
          interval: 1ms
          baseEjectionTime: 1ms
          maxEjectionPercent: 100
        retry: {attempts: 0}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: TrafficPolicy
      metadata: {name: productpage, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: productpage}]
        loadBalancer: {type: LeastRequest}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: FaultPolicy
      metadata: {name: reviews-canary-chaos, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: reviews, sectionName: canary}]
        delay: {fixedDelay: 1ms, percentage: 100}
        abort: {httpStatus: 200, percentage: 0}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: FaultPolicy
      metadata: {name: productpage-chaos, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: productpage}]
        abort: {grpcStatus: "16", percentage: 0.0001}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: RateLimitPolicy
      metadata: {name: details-grpc-limit, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: details, sectionName: grpc}]
        local: {requests: 1, per: 50ms}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: RateLimitPolicy
      metadata: {name: reviews-limit, namespace: bookinfo}
      spec:
        targetRefs:
          - {group: "", kind: Service, name: reviews}
          - {group: "", kind: Service, name: reviews-v1}
        local: {requests: 2147483647, per: 99999h99999m99999s99999ms, burst: 2147483647}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: MeshTLSPolicy
      metadata: {name: details-strict, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: details}]
        mode: STRICT
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: MeshTLSPolicy
      metadata: {name: reviews-permissive, namespace: bookinfo}
      spec:
        targetRefs: [{group: "", kind: Service, name: reviews}]
        mode: PERMISSIVE
      """;

  /**
   * Namespace shop, whose reviews Service examples/policies' AuthorizationPolicy guards: mutual TLS
   * required namespace-wide, and AuthorizationPolicies using every kind of source, operation and
   * condition, an ALLOW of everyone and one of nobody.
   */
  private static final String SHOP =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews, namespace: shop}
      spec:
        clusterIP: 10.96.2.10
        ports: [{name: grpc, port: 9080, appProtocol: grpc}]
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: reviews-a
        namespace: shop
        labels: {kubernetes.io/service-name: reviews}
      addressType: IPv4
      ports: [{name: grpc, port: 9080}]
      endpoints:
        - addresses: ["10.2.0.1"]
          conditions: {ready: true}
          zone: zone-a
          targetRef: {kind: Pod, name: reviews-0, namespace: shop}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-0, namespace: shop, labels: {app: reviews}}
      spec: {serviceAccountName: reviews, containers: [{name: reviews, image: weft/reviews}]}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: MeshTLSPolicy
      metadata: {name: strict, namespace: shop}
      spec: {mode: STRICT}
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: AuthorizationPolicy
      metadata: {name: reviews-everything, namespace: shop}
      spec:
        targetRefs: [{group: "", kind: Service, name: reviews}]
        rules:
          - from:
              - principals: ["*", "cluster.local/ns/shop/*", "*/sa/checkout"]
                notPrincipals: [cluster.local/ns/shop/sa/banned]
              - namespaces: ["team-*", "*-prod", "*"]
                notNamespaces: [quarantine]
            to:
              - ports: [9080]
                paths: [/shop.Reviews/Get, "*", "/shop.Reviews/*", "*/List"]
                methods: [POST]
                notPorts: [15000]
                notPaths: ["/grpc.health.v1.Health/*"]
                notMethods: [DELETE]
            when:
              - header: x-tenant
                values: [acme, "*", "acme-*", "*-corp"]
                notValues: [evil]
          - to: [{methods: [GET, POST]}]
      ---
      apiVersion: mesh.weft.dev/v1alpha1
      kind: AuthorizationPolicy
      metadata: {name: reviews-deny-nothing-else, namespace: shop}
      spec:
        targetRefs: [{group: "", kind: Service, name: reviews}]
        action: DENY
        rules:
          - from: [{notNamespaces: [shop, ops]}]
      """;
}
