package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.TestObjects;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.tracers.opentelemetry.resource_detectors.v3.EnvironmentResourceDetectorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An Envoy sidecar, as its node and requests say it is (wildcard Listeners and Clusters, then the
 * routes and endpoints they name), gets its outbound Listener and clusters over a real ADS stream,
 * and every resource passes Envoy's field constraints. The Listener and clusters are also kept as a
 * golden file, reviewed against Envoy's documentation: a change to them fails here until the file
 * is regenerated ({@code -Dweft.golden.update=true}) and reviewed.
 */
class EnvoySidecarTest {

  private static final String LDS = ResourceType.LISTENER.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String RDS = ResourceType.ROUTE.typeUrl();
  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";
  private static final String DATABASE = "db.demo.svc.cluster.local:5432";
  private static final String LEDGER = "ledger.shop.svc.cluster.local:9090";
  private static final String OUTBOUND = EnvoySidecarTranslator.OUTBOUND_LISTENER;
  private static final Path GOLDEN = Path.of("src/test/resources/golden/envoy-sidecar.json");
  private static final Path GOLDEN_STRICT =
      Path.of("src/test/resources/golden/envoy-sidecar-strict.json");
  private static final Path GOLDEN_PERMISSIVE =
      Path.of("src/test/resources/golden/envoy-sidecar-permissive-inbound.json");
  private static final Path GOLDEN_RATE_LIMIT =
      Path.of("src/test/resources/golden/envoy-sidecar-rate-limited-inbound.json");
  private static final Path GOLDEN_TRACED =
      Path.of("src/test/resources/golden/envoy-sidecar-traced.json");
  private static final String COLLECTOR = "otel-collector.observability.svc.cluster.local:4317";
  private static final String COLLECTOR_CLUSTER = TracingTranslator.CLUSTER_PREFIX + COLLECTOR;

  /** The sidecar is that of the greeter's Pod, whose endpoint is 127.0.0.1:7001. */
  private static final String POD = TestObjects.podName("greeter", "127.0.0.1");

  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  private static final Node SIDECAR =
      Node.newBuilder()
          .setId(POD + ".demo")
          .setUserAgentName("envoy")
          .setMetadata(
              Struct.newBuilder()
                  .putFields("NAMESPACE", text("demo"))
                  .putFields("SERVICE_ACCOUNT", text("greeter"))
                  .putFields("POD_NAME", text(POD))
                  .putFields("PROXY_TYPE", text("sidecar")))
          .build();

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(HttpConnectionManager.getDescriptor())
                  .add(TcpProxy.getDescriptor())
                  .add(OriginalDst.getDescriptor())
                  .add(HTTPFault.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(
                      io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                          .getDescriptor())
                  .add(
                      io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
                          .getDescriptor())
                  .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
                  .add(LocalRateLimit.getDescriptor())
                  .add(HttpProtocolOptions.getDescriptor())
                  .add(OpenTelemetryConfig.getDescriptor())
                  .add(EnvironmentResourceDetectorConfig.getDescriptor())
                  .add(
                      io.envoyproxy.envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig
                          .getDescriptor())
                  .build());

  private XdsTestbed mesh;
  private AdsTestClient envoy;

  @BeforeEach
  void start() {
    start(new XdsTestbed());
  }

  private void start(XdsTestbed testbed) {
    if (mesh != null) {
      stop();
    }
    mesh = testbed;
    mesh.greeter(50051, 7001);
    mesh.source().upsert(TestObjects.service("demo", "db", "tcp-postgres", 5432));
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    envoy = new AdsTestClient(mesh.xdsPort());
  }

  @AfterEach
  void stop() {
    envoy.close();
    mesh.close();
  }

  @Test
  void aSidecarGetsItsOutboundListenerClustersRoutesAndEndpoints() throws Exception {
    envoy.openSotw();
    List<Listener> listeners = wildcard(LDS, Listener.class);
    List<Cluster> clusters = wildcard(CDS, Cluster.class);

    assertThat(listeners)
        .extracting(Listener::getName)
        .containsExactly("weft/inbound", "weft/outbound");
    Listener inbound = listeners.get(0);
    assertThat(inbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15006);
    assertThat(inbound.getFilterChainsList())
        .extracting(FilterChain::getName)
        .containsExactly("inbound|7001");
    Listener outbound = listeners.get(1);
    assertThat(outbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15001);
    FilterChain http = chain(outbound, GREETER);
    assertThat(http.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(50051);
    HttpConnectionManager manager =
        http.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(manager.getRds().getRouteConfigName()).isEqualTo(GREETER);
    TcpProxy tcp = chain(outbound, DATABASE).getFilters(0).getTypedConfig().unpack(TcpProxy.class);
    assertThat(tcp.getCluster()).isEqualTo(DATABASE);
    assertThat(outbound.getDefaultFilterChain().getName()).isEqualTo("weft/passthrough");
    assertThat(clusters)
        .extracting(Cluster::getName)
        .containsExactly(DATABASE, GREETER, "inbound|7001", "weft/passthrough");

    // Routes and endpoints are what proxyless clients get, by the names the Listener and
    // clusters give.
    RouteConfiguration routes = named(RDS, GREETER, RouteConfiguration.class);
    assertThat(routes.getVirtualHosts(0).getRoutes(0).getRoute().getCluster()).isEqualTo(GREETER);
    ClusterLoadAssignment endpoints = named(EDS, GREETER, ClusterLoadAssignment.class);
    assertThat(
            endpoints
                .getEndpoints(0)
                .getLbEndpoints(0)
                .getEndpoint()
                .getAddress()
                .getSocketAddress()
                .getPortValue())
        .isEqualTo(7001);

    List<Message> sent = new ArrayList<>(listeners);
    sent.addAll(clusters);
    sent.add(routes);
    sent.add(endpoints);
    for (Message resource : sent) {
      assertThat(EnvoyConstraints.violations(resource)).as("%s", resource).isEmpty();
    }
    assertThat(mesh.distributor.proxies()).extracting(ProxyStatus::type).containsExactly("sidecar");
    List<Message> golden = new ArrayList<>(listeners);
    golden.addAll(clusters);
    GoldenFile.assertMatches(GOLDEN, golden, JSON);
  }

  @Test
  void withStrictMutualTlsClustersTakeTheAgentsCertificatesBySds() throws Exception {
    start(new XdsTestbed(settings -> settings.mutualTls(MutualTls.strict("cluster.local"))));
    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: only-checkout, namespace: demo}
                spec:
                  targetRefs: [{group: "", kind: Service, name: greeter}]
                  rules:
                  - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
                """,
                AuthorizationPolicy.class));
    awaitServed(state -> !state.attachments(new ServiceKey("demo", "greeter")).isEmpty());
    envoy.openSotw();

    List<Listener> listeners = wildcard(LDS, Listener.class);
    List<Cluster> clusters = wildcard(CDS, Cluster.class);

    // The workload's port takes only mutual TLS, and only checkout's requests reach it.
    FilterChain served = listeners.get(0).getFilterChains(0);
    assertThat(served.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    HttpConnectionManager inbound =
        served.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(inbound.getHttpFiltersList())
        .extracting(filter -> filter.getName())
        .containsExactly(AuthorizationTranslator.ALLOW_FILTER, Translator.ROUTER);

    Cluster greeter =
        clusters.stream().filter(c -> c.getName().equals(GREETER)).findFirst().orElseThrow();
    UpstreamTlsContext tls =
        greeter.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("default");
    assertThat(
            tls.getCommonTlsContext()
                .getCombinedValidationContext()
                .getValidationContextSdsSecretConfig()
                .getName())
        .isEqualTo("ROOTCA");
    // The passthrough leaves the mesh: no mesh certificate there.
    assertThat(clusters.get(clusters.size() - 1).hasTransportSocket()).isFalse();
    List<Message> sent = new ArrayList<>(listeners);
    sent.addAll(clusters);
    for (Message resource : sent) {
      assertThat(EnvoyConstraints.violations(resource)).as("%s", resource).isEmpty();
    }
    GoldenFile.assertMatches(GOLDEN_STRICT, sent, JSON);
  }

  @Test
  void underPermissiveTheInboundListenerServesTlsAndPlaintext() throws Exception {
    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: MeshTLSPolicy
                metadata: {name: permissive, namespace: demo}
                spec:
                  mode: PERMISSIVE
                """,
                MeshTLSPolicy.class));
    awaitServed(state -> !state.namespaceAttachments("demo").isEmpty());
    envoy.openSotw();
    Listener inbound = wildcard(LDS, Listener.class).get(0);

    assertThat(inbound.getListenerFiltersList())
        .extracting(filter -> filter.getName())
        .contains("envoy.filters.listener.tls_inspector");
    assertThat(inbound.getFilterChainsList())
        .extracting(chain -> chain.getFilterChainMatch().getTransportProtocol())
        .containsExactly("tls", "raw_buffer");
    assertThat(EnvoyConstraints.violations(inbound)).isEmpty();
    GoldenFile.assertMatches(GOLDEN_PERMISSIVE, List.of(inbound), JSON);
  }

  @Test
  void aRateLimitPolicyLimitsTheRequestsEachPodOfItsServiceAccepts() throws Exception {
    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: only-checkout, namespace: demo}
                spec:
                  targetRefs: [{group: "", kind: Service, name: greeter}]
                  rules:
                  - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
                """,
                AuthorizationPolicy.class));
    // The port's own policy overrides the whole Service's.
    mesh.source().upsert(rateLimit("greeter-limit", "", "{requests: 1000, per: 1s}"));
    mesh.source()
        .upsert(
            rateLimit(
                "greeter-http-limit", ", sectionName: http", "{requests: 5, per: 1m, burst: 20}"));
    awaitServed(
        state -> state.attachments(new ServiceKey("demo", "greeter")).configs().size() == 3);
    envoy.openSotw();

    Listener inbound = wildcard(LDS, Listener.class).get(0);

    HttpConnectionManager manager =
        inbound
            .getFilterChains(0)
            .getFilters(0)
            .getTypedConfig()
            .unpack(HttpConnectionManager.class);
    assertThat(manager.getHttpFiltersList())
        .extracting(filter -> filter.getName())
        .as("authorization first: a refused request takes no token")
        .containsExactly(
            AuthorizationTranslator.ALLOW_FILTER,
            RateLimitTranslator.FILTER_PREFIX + "demo/greeter:http",
            Translator.ROUTER);
    LocalRateLimit limit = manager.getHttpFilters(1).getTypedConfig().unpack(LocalRateLimit.class);
    assertThat(limit.getTokenBucket().getTokensPerFill().getValue()).isEqualTo(5);
    assertThat(limit.getTokenBucket().getFillInterval().getSeconds()).isEqualTo(60);
    assertThat(limit.getTokenBucket().getMaxTokens()).isEqualTo(20);
    assertThat(limit.getFilterEnforced().getDefaultValue().getNumerator()).isEqualTo(100);
    assertThat(limit.getRateLimitedAsResourceExhausted()).isTrue();
    assertThat(EnvoyConstraints.violations(inbound)).isEmpty();
    GoldenFile.assertMatches(GOLDEN_RATE_LIMIT, List.of(inbound), JSON);
  }

  @Test
  void aTelemetryTurnsOnTracingInEveryHttpConnectionManagerOfTheSidecar() throws Exception {
    // Mesh-wide in the root namespace; demo's own raises the sampling and keeps the collector.
    mesh.source()
        .upsert(
            telemetry(
                "weft-system",
                "mesh-default",
                "{randomSamplingPercentage: 1, otlp: {endpoint: '" + COLLECTOR + "'}}"));
    mesh.source().upsert(telemetry("demo", "debugging", "{randomSamplingPercentage: 100}"));
    awaitServed(
        state ->
            state
                .tracing("demo", ConfigDistributor.DEFAULT_ROOT_NAMESPACE)
                .filter(tracing -> tracing.randomSamplingPercentage() == 100)
                .isPresent());
    envoy.openSotw();

    List<Listener> listeners = wildcard(LDS, Listener.class);
    List<Cluster> clusters = wildcard(CDS, Cluster.class);

    Listener inbound = listeners.get(0);
    Listener outbound = listeners.get(1);
    List<HttpConnectionManager> managers =
        List.of(
            inbound
                .getFilterChains(0)
                .getFilters(0)
                .getTypedConfig()
                .unpack(HttpConnectionManager.class),
            chain(outbound, GREETER)
                .getFilters(0)
                .getTypedConfig()
                .unpack(HttpConnectionManager.class));
    for (HttpConnectionManager manager : managers) {
      HttpConnectionManager.Tracing tracing = manager.getTracing();
      assertThat(tracing.getRandomSampling().getValue()).isEqualTo(100);
      assertThat(tracing.getProvider().getName()).isEqualTo("envoy.tracers.opentelemetry");
      OpenTelemetryConfig tracer =
          tracing.getProvider().getTypedConfig().unpack(OpenTelemetryConfig.class);
      assertThat(tracer.getGrpcService().getEnvoyGrpc().getClusterName())
          .isEqualTo(COLLECTOR_CLUSTER);
      assertThat(tracer.getServiceName())
          .as("the outbound Listener is shared: the workload's name comes from its environment")
          .isEmpty();
      assertThat(tracer.getResourceDetectorsList())
          .extracting(detector -> detector.getName())
          .containsExactly("envoy.tracers.opentelemetry.resource_detectors.environment");
    }
    assertThat(chain(outbound, DATABASE).getFilters(0).getName())
        .as("a TCP port has no HTTP connection manager to trace")
        .isEqualTo("envoy.filters.network.tcp_proxy");
    assertThat(clusters)
        .extracting(Cluster::getName)
        .containsExactly(DATABASE, GREETER, "inbound|7001", "weft/passthrough", COLLECTOR_CLUSTER);
    Cluster collector = clusters.get(4);
    assertThat(collector.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(
            collector
                .getTypedExtensionProtocolOptionsOrThrow(Translator.HTTP_PROTOCOL_OPTIONS)
                .unpack(HttpProtocolOptions.class)
                .getExplicitHttpConfig()
                .hasHttp2ProtocolOptions())
        .as("OTLP over gRPC")
        .isTrue();
    List<Message> sent = new ArrayList<>(listeners);
    sent.addAll(clusters);
    for (Message resource : sent) {
      assertThat(EnvoyConstraints.violations(resource)).as("%s", resource).isEmpty();
    }
    GoldenFile.assertMatches(GOLDEN_TRACED, sent, JSON);

    // Without a Telemetry, no tracing: the sidecar gets what it got before any.
    mesh.source().delete(new ObjectKey(ResourceKind.TELEMETRY, "weft-system", "mesh-default"));
    boolean listenersUntraced = false;
    boolean collectorGone = false;
    while (!listenersUntraced || !collectorGone) {
      DiscoveryResponse response = envoy.nextSotw();
      envoy.send(AdsTestClient.ack(response));
      if (response.getTypeUrl().equals(LDS)) {
        listenersUntraced =
            unpack(response, Listener.class).stream()
                .flatMap(listener -> listener.getFilterChainsList().stream())
                .flatMap(chain -> chain.getFiltersList().stream())
                .filter(filter -> filter.getName().equals(Translator.HTTP_CONNECTION_MANAGER))
                .noneMatch(filter -> unpackManager(filter).hasTracing());
      } else if (response.getTypeUrl().equals(CDS)) {
        collectorGone =
            unpack(response, Cluster.class).stream()
                .noneMatch(cluster -> cluster.getName().equals(COLLECTOR_CLUSTER));
      }
    }
  }

  @Test
  void sidecarsOfANamespaceShareOneTracedCopyOfTheirOutboundListener() throws Exception {
    mesh.source()
        .upsert(
            telemetry(
                "weft-system",
                "mesh-default",
                "{randomSamplingPercentage: 5, otlp: {endpoint: '" + COLLECTOR + "'}}"));
    awaitServed(
        state -> state.tracing("demo", ConfigDistributor.DEFAULT_ROOT_NAMESPACE).isPresent());
    envoy.openSotw();
    try (AdsTestClient other = new AdsTestClient(mesh.xdsPort())) {
      other.openSotw();
      Node first = scopedSidecar("web-1", "*/*");
      Node second = scopedSidecar("web-2", "*/*");

      Any firstListener = wildcard(envoy, first, LDS).getResources(0);
      Any secondListener = wildcard(other, second, LDS).getResources(0);

      assertThat(firstListener).isEqualTo(secondListener);
      assertThat(firstListener.unpack(Listener.class).getFilterChainsList())
          .filteredOn(chain -> chain.getName().equals(GREETER))
          .singleElement()
          .satisfies(chain -> assertThat(unpackManager(chain.getFilters(0)).hasTracing()).isTrue());
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(held(second, ResourceType.LISTENER, OUTBOUND))
                      .isNotNull()
                      .isSameAs(held(first, ResourceType.LISTENER, OUTBOUND)));
    }
  }

  private static HttpConnectionManager unpackManager(
      io.envoyproxy.envoy.config.listener.v3.Filter filter) {
    try {
      return filter.getTypedConfig().unpack(HttpConnectionManager.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static Telemetry telemetry(String namespace, String name, String tracing) {
    return YAML.unmarshal(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: Telemetry
        metadata: {name: %s, namespace: %s}
        spec:
          tracing: %s
        """
            .formatted(name, namespace, tracing),
        Telemetry.class);
  }

  @Test
  void aTcpPortIsNotRateLimited() throws Exception {
    HttpFilter limit =
        RateLimitTranslator.filter(
            new PolicyTarget("demo", "db", Optional.empty()),
            new RateLimitValues.LocalLimit(1, Duration.ofSeconds(1), 1));

    Listener inbound =
        EnvoySidecarTranslator.inbound(
            List.of(
                new EnvoySidecarTranslator.InboundPort(
                    5432, false, MutualTlsMode.DISABLE, List.of(), List.of(limit), List.of())));

    assertThat(inbound.getFilterChains(0).getFiltersList())
        .extracting(filter -> filter.getName())
        .containsExactly("envoy.filters.network.tcp_proxy");
  }

  @Test
  void aTcpPortJudgesEachConnectionByTheAuthorizationPolicies() throws Exception {
    String dbPod = TestObjects.podName("db", "127.0.0.1");
    mesh.source().upsert(TestObjects.slice("demo", "db-a", "db", 5432, "127.0.0.1"));
    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: only-orders, namespace: demo}
                spec:
                  targetRefs: [{group: "", kind: Service, name: db}]
                  rules:
                  - from: [{principals: [cluster.local/ns/demo/sa/orders]}]
                  - to: [{paths: [/admin]}]
                """,
                AuthorizationPolicy.class));
    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: no-reports, namespace: demo}
                spec:
                  targetRefs: [{group: "", kind: Service, name: db}]
                  action: DENY
                  rules:
                  - from: [{principals: [cluster.local/ns/demo/sa/reports]}]
                    to: [{methods: [DELETE]}]
                """,
                AuthorizationPolicy.class));
    awaitServed(state -> state.attachments(new ServiceKey("demo", "db")).configs().size() == 2);
    envoy.openSotw();
    envoy.send(
        DiscoveryRequest.newBuilder()
            .setNode(
                SIDECAR.toBuilder()
                    .setMetadata(
                        SIDECAR.getMetadata().toBuilder().putFields("POD_NAME", text(dbPod))))
            .setTypeUrl(LDS)
            .build());
    DiscoveryResponse response = envoy.nextSotw();
    Listener inbound =
        response.getResourcesList().stream()
            .map(resource -> unpack(resource, Listener.class))
            .filter(listener -> listener.getName().equals("weft/inbound"))
            .findFirst()
            .orElseThrow();

    FilterChain chain = inbound.getFilterChains(0);
    assertThat(chain.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(5432);
    assertThat(chain.getFiltersList())
        .extracting(filter -> filter.getName())
        .containsExactly(
            "envoy.filters.network.rbac",
            "envoy.filters.network.rbac",
            "envoy.filters.network.tcp_proxy");
    var deny =
        chain
            .getFilters(0)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    var allow =
        chain
            .getFilters(1)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    // A connection has no method: the DENY rule refuses every connection of its caller...
    assertThat(deny.getRules().getPoliciesMap()).containsOnlyKeys("demo/no-reports/rules[0]");
    assertThat(deny.getRules().getPoliciesMap().get("demo/no-reports/rules[0]").getPermissions(0))
        .isEqualTo(io.envoyproxy.envoy.config.rbac.v3.Permission.newBuilder().setAny(true).build());
    // ...and the ALLOW rule on a path allows none: only the orders service account connects.
    assertThat(allow.getRules().getPoliciesMap()).containsOnlyKeys("demo/only-orders/rules[0]");
    assertThat(EnvoyConstraints.violations(inbound)).isEmpty();
  }

  private static <T extends Message> T unpack(Any resource, Class<T> type) {
    try {
      return resource.unpack(type);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static RateLimitPolicy rateLimit(String name, String section, String local) {
    return YAML.unmarshal(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: RateLimitPolicy
        metadata: {name: %s, namespace: demo}
        spec:
          targetRefs: [{group: "", kind: Service, name: greeter%s}]
          local: %s
        """
            .formatted(name, section, local),
        RateLimitPolicy.class);
  }

  @Test
  void aDeltaSidecarGetsTheSameListener() throws Exception {
    envoy.openDelta();
    envoy.send(DeltaDiscoveryRequest.newBuilder().setNode(SIDECAR).setTypeUrl(LDS).build());

    DeltaDiscoveryResponse response = envoy.nextDelta();

    assertThat(response.getResourcesList()).hasSize(2);
    Listener outbound = response.getResources(0).getResource().unpack(Listener.class);
    assertThat(outbound.getName()).isEqualTo("weft/inbound");
    outbound = response.getResources(1).getResource().unpack(Listener.class);
    assertThat(outbound.getName()).isEqualTo("weft/outbound");
    assertThat(outbound.getFilterChainsList())
        .extracting(FilterChain::getName)
        .containsExactlyInAnyOrder(GREETER, DATABASE);
  }

  @Test
  void aNewServiceReachesTheSidecarsListenerAndClusters() throws Exception {
    envoy.openSotw();
    wildcard(LDS, Listener.class);
    wildcard(CDS, Cluster.class);

    mesh.source().upsert(TestObjects.service("demo", "ledger", "grpc", 9090));

    List<String> updated = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      DiscoveryResponse response = envoy.nextSotw();
      envoy.send(AdsTestClient.ack(response));
      for (Any resource : response.getResourcesList()) {
        if (response.getTypeUrl().equals(LDS)) {
          updated.addAll(
              resource.unpack(Listener.class).getFilterChainsList().stream()
                  .map(FilterChain::getName)
                  .toList());
        } else {
          updated.add(resource.unpack(Cluster.class).getName());
        }
      }
    }
    assertThat(updated)
        .contains("ledger.demo.svc.cluster.local:9090")
        .filteredOn("ledger.demo.svc.cluster.local:9090"::equals)
        .hasSize(2); // its filter chain and its cluster
  }

  @Test
  void aScopedSidecarGetsOnlyTheChainsAndClustersOfTheServicesItCalls() throws Exception {
    mesh.source().upsert(TestObjects.service("shop", "ledger", "grpc", 9090));
    awaitServed(state -> state.service(new ServiceKey("shop", "ledger")).isPresent());
    envoy.openSotw();
    Node node = scopedSidecar(POD, "./greeter", "shop/*");

    List<Listener> listeners = unpack(wildcard(envoy, node, LDS), Listener.class);
    List<Cluster> clusters = unpack(wildcard(envoy, node, CDS), Cluster.class);

    assertThat(listeners)
        .extracting(Listener::getName)
        .containsExactly("weft/inbound", "weft/outbound");
    Listener outbound = listeners.get(1);
    assertThat(chainNames(outbound)).containsExactlyInAnyOrder(GREETER, LEDGER);
    // The database, undeclared, is reached as a destination outside the mesh is.
    assertThat(outbound.getDefaultFilterChain().getName()).isEqualTo("weft/passthrough");
    assertThat(clusters)
        .extracting(Cluster::getName)
        .containsExactly(GREETER, "inbound|7001", LEDGER, "weft/passthrough");
    for (Message resource : List.<Message>of(outbound, clusters.get(2))) {
      assertThat(EnvoyConstraints.violations(resource)).as("%s", resource).isEmpty();
    }
    assertThat(mesh.distributor.proxies())
        .singleElement()
        .extracting(ProxyStatus::egress)
        .isEqualTo(List.of("demo/greeter", "shop/*"));
  }

  @Test
  void sidecarsThatSeeTheSameServicesShareOneListenerBuiltOncePerChange() throws Exception {
    envoy.openSotw();
    try (AdsTestClient other = new AdsTestClient(mesh.xdsPort())) {
      other.openSotw();
      // The same view in other words: "." is their namespace, and demo/* covers the greeter.
      Node first = scopedSidecar("web-1", "./*");
      Node second = scopedSidecar("web-2", "demo/greeter", "demo/*");

      Any firstListener = wildcard(envoy, first, LDS).getResources(0);
      Any secondListener = wildcard(other, second, LDS).getResources(0);
      wildcard(envoy, first, CDS);
      wildcard(other, second, CDS);

      assertThat(firstListener).isEqualTo(secondListener);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(held(second, ResourceType.LISTENER, OUTBOUND))
                      .isNotNull()
                      .isSameAs(held(first, ResourceType.LISTENER, OUTBOUND)));
      Resource before = held(first, ResourceType.LISTENER, OUTBOUND);

      mesh.source().upsert(TestObjects.service("demo", "ledger", "grpc", 9090));
      List<String> chains = new ArrayList<>();
      for (AdsTestClient client : List.of(envoy, other)) {
        for (int i = 0; i < 2; i++) { // the new cluster, and the new Listener
          DiscoveryResponse response = client.nextSotw();
          client.send(AdsTestClient.ack(response));
          if (response.getTypeUrl().equals(LDS)) {
            chains.addAll(chainNames(response.getResources(0).unpack(Listener.class)));
          }
        }
      }

      assertThat(chains).filteredOn("ledger.demo.svc.cluster.local:9090"::equals).hasSize(2);
      // Built once for both: the new copy either holds is the other's too.
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                Resource rebuilt = held(first, ResourceType.LISTENER, OUTBOUND);
                assertThat(rebuilt).isNotNull().isNotSameAs(before);
                assertThat(held(second, ResourceType.LISTENER, OUTBOUND)).isSameAs(rebuilt);
              });
    }
  }

  @Test
  void aScopedDeltaSidecarGetsAServiceThatEntersItsViewAndNoOther() throws Exception {
    envoy.openDelta();
    Node node = scopedSidecar("web-1", "./greeter", "*/ledger");
    envoy.send(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
    DeltaDiscoveryResponse listeners = envoy.nextDelta();
    envoy.send(AdsTestClient.ack(listeners));
    envoy.send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(CDS).build());
    DeltaDiscoveryResponse clusters = envoy.nextDelta();
    envoy.send(AdsTestClient.ack(clusters));

    assertThat(chainNames(unpack(listeners, Listener.class).get(0))).containsExactly(GREETER);
    assertThat(unpack(clusters, Cluster.class))
        .extracting(Cluster::getName)
        .containsExactly(GREETER, "weft/passthrough");

    // Outside the view first: nothing of it reaches the sidecar, and the next responses carry
    // the ledger alone.
    mesh.source().upsert(TestObjects.service("shop", "audit", "grpc", 9091));
    mesh.source().upsert(TestObjects.service("shop", "ledger", "grpc", 9090));
    DeltaDiscoveryResponse newCluster = envoy.nextDelta();
    envoy.send(AdsTestClient.ack(newCluster));
    DeltaDiscoveryResponse newListener = envoy.nextDelta();
    envoy.send(AdsTestClient.ack(newListener));

    assertThat(newCluster.getTypeUrl()).isEqualTo(CDS);
    assertThat(unpack(newCluster, Cluster.class))
        .extracting(Cluster::getName)
        .containsExactly(LEDGER);
    assertThat(newListener.getTypeUrl()).isEqualTo(LDS);
    assertThat(chainNames(unpack(newListener, Listener.class).get(0)))
        .containsExactlyInAnyOrder(GREETER, LEDGER);
  }

  /**
   * A sidecar watches its view, not the mesh: an endpoint change of a Service outside its view
   * resolves nothing of it again, but one its own Pod joins reaches its inbound Listener and
   * clusters.
   */
  @Test
  void aScopedSidecarFollowsItsOwnPodsEndpointsButNotThoseOutsideItsView() throws Exception {
    envoy.openSotw();
    Node node = scopedSidecar(POD, "./greeter");
    wildcard(envoy, node, LDS);
    wildcard(envoy, node, CDS);

    // The database's endpoints: outside its view, and not its Pod's.
    mesh.source().upsert(TestObjects.slice("demo", "db-1", "db", 5432, "127.0.0.9"));
    // The sidecar's own Pod joins the database's endpoints, on port 5433 (its labels changed):
    // outside its view, but its Pod's, so its inbound Listener and clusters take the port.
    EndpointSlice joined = TestObjects.slice("demo", "db-2", "db", 5433, "127.0.0.1");
    joined.getEndpoints().get(0).getTargetRef().setName(POD);
    mesh.source().upsert(joined);

    Map<String, DiscoveryResponse> next = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      DiscoveryResponse response = envoy.nextSotw();
      envoy.send(AdsTestClient.ack(response));
      next.put(response.getTypeUrl(), response);
    }
    assertThat(next).containsOnlyKeys(LDS, CDS);
    Listener inbound = unpack(next.get(LDS), Listener.class).get(0);
    assertThat(inbound.getName()).isEqualTo(EnvoySidecarTranslator.INBOUND_LISTENER);
    assertThat(inbound.toString()).contains("5433");
    assertThat(unpack(next.get(CDS), Cluster.class))
        .extracting(Cluster::getName)
        .contains(EnvoySidecarTranslator.inboundClusterName(5433), GREETER)
        .doesNotContain(DATABASE);
  }

  @Test
  void aSidecarWhoseEgressHasAnInvalidEntrySeesTheWholeMesh() throws Exception {
    envoy.openSotw();
    // As a hand-written bootstrap may declare them: one string, which Weft's own never is.
    Node node = scopedSidecar("web-1");
    node =
        node.toBuilder()
            .setMetadata(
                node.getMetadata().toBuilder()
                    .putFields(EgressHosts.METADATA_KEY, text("demo/greeter, greeter.demo")))
            .build();

    Listener outbound = unpack(wildcard(envoy, node, LDS), Listener.class).get(0);

    assertThat(chainNames(outbound)).containsExactlyInAnyOrder(GREETER, DATABASE);
    assertThat(mesh.distributor.proxies())
        .singleElement()
        .extracting(ProxyStatus::egress)
        .isEqualTo(List.of());
  }

  /** Waits until what the distributor serves satisfies {@code condition}, before a proxy asks. */
  private void awaitServed(Predicate<MeshState> condition) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> mesh.distributor.published().map(condition::test).orElse(false));
  }

  private <T extends Message> List<T> wildcard(String typeUrl, Class<T> type) throws Exception {
    return unpack(wildcard(envoy, SIDECAR, typeUrl), type);
  }

  /** Asks for every resource of a type by wildcard, as {@code node}; ACKs the response. */
  private static DiscoveryResponse wildcard(AdsTestClient client, Node node, String typeUrl) {
    client.send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).build());
    DiscoveryResponse response = client.nextSotw();
    client.send(AdsTestClient.ack(response));
    return response;
  }

  private static <T extends Message> List<T> unpack(DiscoveryResponse response, Class<T> type)
      throws Exception {
    List<T> resources = new ArrayList<>();
    for (Any resource : response.getResourcesList()) {
      resources.add(resource.unpack(type));
    }
    return resources;
  }

  private static <T extends Message> List<T> unpack(DeltaDiscoveryResponse response, Class<T> type)
      throws Exception {
    List<T> resources = new ArrayList<>();
    for (io.envoyproxy.envoy.service.discovery.v3.Resource resource : response.getResourcesList()) {
      resources.add(resource.getResource().unpack(type));
    }
    return resources;
  }

  /**
   * The node of the sidecar of Pod {@code pod} in namespace demo that declares {@code egress}, as
   * Weft's Envoy bootstrap writes it.
   */
  private static Node scopedSidecar(String pod, String... egress) {
    var hosts = (Validated.Valid<List<EgressHosts.Host>>) EgressHosts.parse(Arrays.asList(egress));
    return EnvoyBootstrap.of(
            new EnvoyBootstrap.Proxy(
                EnvoyBootstrap.ProxyType.SIDECAR,
                new Bootstrap.Workload("demo", "greeter", pod, ""),
                "",
                Map.of(),
                hosts.value()),
            new EnvoyBootstrap.ControlPlane("localhost", 15010, Optional.empty(), true))
        .getNode();
  }

  /**
   * The resource of a name a proxy holds, as its stream recorded the ACK: the very instance the
   * distributor sent; null before.
   */
  private Resource held(Node node, ResourceType type, String name) {
    return mesh
        .distributor
        .held(node.getId())
        .orElse(Map.of())
        .getOrDefault(type, List.of())
        .stream()
        .filter(resource -> resource.name().equals(name))
        .findFirst()
        .orElse(null);
  }

  private static List<String> chainNames(Listener listener) {
    return listener.getFilterChainsList().stream().map(FilterChain::getName).toList();
  }

  private <T extends Message> T named(String typeUrl, String name, Class<T> type) throws Exception {
    envoy.send(DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addResourceNames(name).build());
    DiscoveryResponse response = envoy.nextSotw();
    envoy.send(AdsTestClient.ack(response));
    return response.getResources(0).unpack(type);
  }

  private static FilterChain chain(Listener listener, String name) {
    return listener.getFilterChainsList().stream()
        .filter(chain -> chain.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }
}
