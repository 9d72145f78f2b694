package dev.weft.registry;

import static dev.weft.registry.TestObjects.pod;
import static dev.weft.registry.TestObjects.podName;
import static dev.weft.registry.TestObjects.service;
import static dev.weft.registry.TestObjects.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TelemetryValues;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Kubernetes source against Fabric8's mock API server in CRUD mode. */
class KubernetesSourceTest {

  /** The bound for a scale-up to show in the registry. */
  private static final Duration WITHIN_ONE_SECOND = Duration.ofSeconds(1);

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String NS = "shop";
  private static final ServiceKey REVIEWS = new ServiceKey(NS, "reviews");

  private final ApiServerFixture apiServer = new ApiServerFixture();
  private final KubernetesClient client = apiServer.client();
  private final MeshRegistry registry = MeshRegistry.create();
  private KubernetesSource source;

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
    registry.close();
    apiServer.close();
  }

  @Test
  void syncsOnlyOnceTheWholeInitialListIsInTheRegistry() throws Exception {
    create(service(NS, "reviews", "http", 9080));
    create(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.3"));
    for (String address : List.of("10.0.0.1", "10.0.0.2", "10.0.0.3")) {
      create(pod(NS, podName("reviews", address), "reviews", "v1"));
    }

    start(List.of());
    source.initialSync().get(10, TimeUnit.SECONDS);
    await().atMost(WAIT).until(registry::isSynced);

    MeshState state = registry.current();
    assertThat(state.endpoints(REVIEWS).ready()).hasSize(3);
    assertThat(state.endpoints(REVIEWS).all())
        .allSatisfy(
            e -> {
              assertThat(e.serviceAccount()).isEqualTo("reviews");
              assertThat(e.labels()).containsEntry("version", "v1");
              assertThat(e.zone()).isEqualTo("zone-a");
            });
  }

  @Test
  void scalingFromThreeToFiveShowsWithinOneSecond() {
    create(service(NS, "reviews", "http", 9080));
    create(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.3"));
    startAndSync(List.of());
    assertThat(registry.current().endpoints(REVIEWS).ready()).hasSize(3);

    // An updated slice and a new one, as the EndpointSlice controller does on a scale-up.
    update(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"));
    create(slice(NS, "reviews-b", "reviews", 9080, "10.0.0.5"));

    await()
        .atMost(WITHIN_ONE_SECOND)
        .until(() -> registry.current().endpoints(REVIEWS).ready().size() == 5);
    assertThat(registry.current().endpoints(REVIEWS).all())
        .extracting(Endpoint::address)
        .containsExactly("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5");
  }

  @Test
  void endpointMarkedNotReadyLeavesTheReadySet() {
    create(service(NS, "reviews", "http", 9080));
    create(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.3"));
    startAndSync(List.of());

    EndpointSlice oneNotReady =
        new EndpointSliceBuilder(
                slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.3"))
            .editMatchingEndpoint(e -> e.getAddresses().contains("10.0.0.2"))
            .editConditions()
            .withReady(false)
            .endConditions()
            .endEndpoint()
            .build();
    update(oneNotReady);

    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(registry.current().endpoints(REVIEWS).ready())
                    .extracting(Endpoint::address)
                    .containsExactly("10.0.0.1", "10.0.0.3"));
    assertThat(registry.current().endpoints(REVIEWS).all()).hasSize(3);
  }

  @Test
  void deletingTheServiceRemovesIt() {
    create(service(NS, "reviews", "http", 9080));
    create(service(NS, "ratings", "http", 9080));
    startAndSync(List.of());
    assertThat(registry.current().services()).hasSize(2);

    client.services().inNamespace(NS).withName("reviews").delete();

    await().atMost(WAIT).until(() -> registry.current().service(REVIEWS).isEmpty());
    assertThat(registry.current().service(new ServiceKey(NS, "ratings"))).isPresent();
  }

  @Test
  void watchesOnlyTheConfiguredNamespaces() {
    create(service("team-a", "api", "http", 80));
    create(service("team-b", "api", "http", 80));
    create(service("team-c", "api", "http", 80));
    startAndSync(List.of("team-a", "team-b"));

    create(service("team-b", "web", "http", 80));
    create(service("team-c", "web", "http", 80));

    await()
        .atMost(WAIT)
        .until(() -> registry.current().service(new ServiceKey("team-b", "web")).isPresent());
    assertThat(registry.current().services().keySet())
        .containsExactlyInAnyOrder(
            new ServiceKey("team-a", "api"),
            new ServiceKey("team-b", "api"),
            new ServiceKey("team-b", "web"));
  }

  @Test
  void watchesAllNamespacesByDefault() {
    create(service("team-a", "api", "http", 80));
    create(service("team-b", "api", "http", 80));
    startAndSync(List.of());

    assertThat(registry.current().services()).hasSize(2);
  }

  @Test
  void weftPoliciesAreWatchedAndAttachToTheirService() {
    create(service(NS, "reviews", "http", 9080));
    startAndSync(List.of());

    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: FaultPolicy
                metadata: {name: reviews-chaos, namespace: %s}
                spec:
                  targetRefs: [{group: "", kind: Service, name: reviews}]
                  abort: {grpcStatus: UNAVAILABLE, percentage: 5}
                """
                    .formatted(NS),
                FaultPolicy.class))
        .create();
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: RateLimitPolicy
                metadata: {name: reviews-limit, namespace: %s}
                spec:
                  targetRefs: [{group: "", kind: Service, name: reviews}]
                  local: {requests: 100, per: 1s}
                """
                    .formatted(NS),
                RateLimitPolicy.class))
        .create();

    await().atMost(WAIT).until(() -> registry.current().attachments(REVIEWS).configs().size() == 2);
    assertThat(registry.current().attachments(REVIEWS).configs())
        .extracting(MeshConfig::key)
        .containsExactly(
            new ObjectKey(ResourceKind.FAULT_POLICY, NS, "reviews-chaos"),
            new ObjectKey(ResourceKind.RATE_LIMIT_POLICY, NS, "reviews-limit"));
  }

  @Test
  void telemetriesAreWatchedAndTheNamespacesOverridesTheMeshs() {
    startAndSync(List.of());

    telemetry(
        "weft-system",
        "mesh-default",
        "{randomSamplingPercentage: 1, otlp: {endpoint: 'otel-collector.observability:4317'}}");
    telemetry(NS, "debugging", "{randomSamplingPercentage: 100}");
    telemetry("other", "broken", "{otlp: {endpoint: 'http://collector:4317'}}");

    TelemetryValues.OtlpEndpoint collector =
        new TelemetryValues.OtlpEndpoint("otel-collector.observability", 4317);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              MeshState state = registry.current();
              assertThat(state.tracing(NS, "weft-system"))
                  .contains(new TelemetryValues.Tracing(100, collector));
              assertThat(state.tracing("other", "weft-system"))
                  .contains(new TelemetryValues.Tracing(1, collector));
              assertThat(state.rejections())
                  .singleElement()
                  .satisfies(
                      rejection ->
                          assertThat(rejection.errors())
                              .extracting(Object::toString)
                              .containsExactly(
                                  "spec.tracing.otlp.endpoint: \"http://collector:4317\" is a"
                                      + " URL; give host:port without a scheme (proxies speak"
                                      + " OTLP over gRPC to it)"));
            });

    client.resources(Telemetry.class).inNamespace("weft-system").withName("mesh-default").delete();

    await().atMost(WAIT).until(() -> registry.current().tracing(NS, "weft-system").isEmpty());
    assertThat(registry.current().tracing("other", "weft-system")).isEmpty();
  }

  private void telemetry(String namespace, String name, String tracing) {
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: Telemetry
                metadata: {name: %s, namespace: %s}
                spec:
                  tracing: %s
                """
                    .formatted(name, namespace, tracing),
                Telemetry.class))
        .create();
  }

  /** One watch per kind the source informs on: core kinds, Gateway API routes, Weft policies. */
  private static final int WATCHED_KINDS = ResourceKind.values().length;

  @Test
  void forcedReconnectLosesAndDuplicatesNothing() {
    create(service(NS, "reviews", "http", 9080));
    create(service(NS, "ratings", "http", 9080));
    create(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2"));
    create(slice(NS, "reviews-b", "reviews", 9080, "10.0.0.3"));
    startAndSync(List.of());
    await().atMost(WAIT).until(() -> apiServer.openWatches() == WATCHED_KINDS);

    apiServer.dropWatches();
    // While no watch is open: a delete, an update and a create that no event reports.
    client.services().inNamespace(NS).withName("ratings").delete();
    client.discovery().v1().endpointSlices().inNamespace(NS).withName("reviews-b").delete();
    update(slice(NS, "reviews-a", "reviews", 9080, "10.0.0.1", "10.0.0.2", "10.0.0.4"));
    create(service(NS, "details", "http", 9080));
    assertThat(registry.current().service(new ServiceKey(NS, "ratings"))).isPresent();

    apiServer.restoreWatchesWithGone(WATCHED_KINDS);

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              MeshState state = registry.current();
              assertThat(state.services().keySet())
                  .containsExactlyInAnyOrder(REVIEWS, new ServiceKey(NS, "details"));
              assertThat(state.endpoints(REVIEWS).all())
                  .extracting(Endpoint::address)
                  .containsExactly("10.0.0.1", "10.0.0.2", "10.0.0.4");
            });
    // And the informers watch again: a later change still arrives.
    create(slice(NS, "reviews-c", "reviews", 9080, "10.0.0.9"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).size() == 4);
  }

  @Test
  void meshRoutesAreCarriedAndInvalidOnesRejectedWithTheirField() {
    create(service(NS, "reviews", "http", 9080));
    startAndSync(List.of());

    client.resources(HTTPRoute.class).inNamespace(NS).resource(route("canary", 90)).create();
    client.resources(HTTPRoute.class).inNamespace(NS).resource(route("broken", -1)).create();

    ObjectKey canary = new ObjectKey(ResourceKind.HTTP_ROUTE, NS, "canary");
    await().atMost(WAIT).until(() -> registry.current().config(canary).isPresent());
    await().atMost(WAIT).until(() -> !registry.current().rejections().isEmpty());
    Rejection rejection = registry.current().rejections().iterator().next();
    assertThat(rejection.object()).isEqualTo("HTTPRoute shop/broken");
    assertThat(rejection.errors())
        .extracting(Object::toString)
        .containsExactly("spec.rules[0].backendRefs[0].weight: -1 is outside 0..1000000");
  }

  @Test
  void followsGatewaysTheirClassesAndOnlyTlsSecrets() {
    create(
        new io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClassBuilder()
            .withNewMetadata()
            .withName("weft")
            .endMetadata()
            .withNewSpec()
            .withControllerName("weft.dev/gateway-controller")
            .endSpec()
            .build());
    create(
        new io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayBuilder()
            .withNewMetadata()
            .withName("edge")
            .withNamespace(NS)
            .endMetadata()
            .withNewSpec()
            .withGatewayClassName("weft")
            .addNewListener()
            .withName("http")
            .withPort(8080)
            .withProtocol("HTTP")
            .endListener()
            .endSpec()
            .build());
    create(secret("opaque", "Opaque", java.util.Map.of("password", "c2VjcmV0")));
    // Not PEM: the decoder refuses it, which shows it was read.
    create(secret("broken-cert", "kubernetes.io/tls", java.util.Map.of("tls.crt", "eA==")));

    startAndSync(List.of());

    assertThat(registry.current().config(new ObjectKey(ResourceKind.GATEWAY, NS, "edge")))
        .isPresent();
    assertThat(registry.current().config(new ObjectKey(ResourceKind.GATEWAY_CLASS, "", "weft")))
        .isPresent();
    await()
        .atMost(WAIT)
        .until(
            () ->
                registry
                    .current()
                    .rejection(new ObjectKey(ResourceKind.SECRET, NS, "broken-cert"))
                    .isPresent());
    // Only TLS Secrets are kept (the informer asks for that type; the decoder checks it too).
    assertThat(registry.current().rejections())
        .extracting(Rejection::object)
        .containsExactly("Secret " + NS + "/broken-cert");
    assertThat(registry.current().config(new ObjectKey(ResourceKind.SECRET, NS, "opaque")))
        .isEmpty();
  }

  private static io.fabric8.kubernetes.api.model.Secret secret(
      String name, String type, java.util.Map<String, String> data) {
    return new io.fabric8.kubernetes.api.model.SecretBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NS)
        .endMetadata()
        .withType(type)
        .withData(data)
        .build();
  }

  @Test
  void syncsWithoutRoutesWhenGatewayApiIsNotInstalled() {
    apiServer.stopServing("/apis/gateway.networking.k8s.io/");
    create(service(NS, "reviews", "http", 9080));

    startAndSync(List.of());

    assertThat(registry.current().service(REVIEWS)).isPresent();
  }

  private void start(List<String> namespaces) {
    source = new KubernetesSource(client, namespaces, registry.registerSource("kubernetes"));
    source.start();
  }

  private void startAndSync(List<String> namespaces) {
    start(namespaces);
    await().atMost(WAIT).until(registry::isSynced);
  }

  private void create(io.fabric8.kubernetes.api.model.HasMetadata object) {
    client.resource(object).create();
  }

  private void update(io.fabric8.kubernetes.api.model.HasMetadata object) {
    client.resource(object).update();
  }

  private static HTTPRoute route(String name, int weight) {
    return new HTTPRouteBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(NS)
        .endMetadata()
        .withNewSpec()
        .addNewParentRef()
        .withGroup("")
        .withKind("Service")
        .withName("reviews")
        .withPort(9080)
        .endParentRef()
        .addNewRule()
        .addNewBackendRef()
        .withName("reviews")
        .withPort(9080)
        .withWeight(weight)
        .endBackendRef()
        .endRule()
        .endSpec()
        .build();
  }
}
