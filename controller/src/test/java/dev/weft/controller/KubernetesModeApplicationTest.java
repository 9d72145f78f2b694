package dev.weft.controller;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.ca.Pem;
import dev.weft.registry.ConfigStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The control plane in Kubernetes mode, against Fabric8's mock API server in CRUD mode. */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "weft.mode=kubernetes",
      "weft.kubernetes.namespaces=payments",
      // The CA keeps its root in the mock API server's Secret weft-system/weft-ca.
      "weft.ca.port=0",
      // The token the debug API is read with below belongs to this ServiceAccount.
      "weft.http.debug-service-accounts=weft-system/debugger",
      // Publishing slower than the status writer's first pass (200 ms after a change): a route
      // must still become Programmed, from the writer's own retries, with no further event.
      "weft.xds.quiet-period=500ms",
      "weft.xds.max-delay=500ms",
      // The injection webhook, on a port of its own, with the images the chart would set.
      "weft.webhooks.port=0",
      "weft.injection.init.image=" + InjectionFixtures.INIT_IMAGE,
      "weft.injection.agent.image=" + InjectionFixtures.AGENT_IMAGE
    })
class KubernetesModeApplicationTest {

  @TestConfiguration
  static class MockApiServer {
    @Bean(destroyMethod = "destroy")
    KubernetesMockServer kubernetesMockServer() {
      KubernetesMockServer server = MixedApiServer.start();
      // The API server's answer for the token the test reads the debug API with.
      MixedApiServer.authenticateEveryTokenAs(server, "system:serviceaccount:weft-system:debugger");
      return server;
    }

    @Bean(destroyMethod = "close")
    KubernetesClient kubernetesClient(KubernetesMockServer server) {
      return server.createClient();
    }
  }

  @Autowired KubernetesClient client;
  @Autowired AdmissionConfiguration.WebhookLifecycle webhook;
  @LocalServerPort int port;

  /**
   * Sidecar injection as the API server sees it: the leader writes the trust bundle into the
   * webhook configuration the chart created, and that bundle, and nothing else, verifies the
   * webhook's certificate for the Pod creations it is sent.
   */
  @Test
  void theLeaderKeepsTheWebhooksCaBundleWhichVerifiesTheWebhookThatInjectsPods() throws Exception {
    client
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName("weft-sidecar-injector")
                .endMetadata()
                .addNewWebhook()
                .withName("sidecar-injector.weft.dev")
                .withNewClientConfig()
                .withNewService()
                .withNamespace("weft-system")
                .withName("weft")
                .withPath("/inject")
                .withPort(443)
                .endService()
                .endClientConfig()
                .withAdmissionReviewVersions("v1")
                .withSideEffects("None")
                .endWebhook()
                .build())
        .create();

    String caBundle =
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () ->
                    client
                        .admissionRegistration()
                        .v1()
                        .mutatingWebhookConfigurations()
                        .withName("weft-sidecar-injector")
                        .get()
                        .getWebhooks()
                        .get(0)
                        .getClientConfig()
                        .getCaBundle(),
                bundle -> bundle != null && !bundle.isEmpty());
    List<X509Certificate> roots =
        Pem.parseCertificates(new String(Base64.getDecoder().decode(caBundle), UTF_8));

    HttpResponse<String> response =
        HttpClient.newBuilder()
            .sslContext(AdmissionWebhooksTest.trusting(roots))
            .build()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "https://localhost:"
                                + webhook.port().orElseThrow()
                                + "/inject?timeout=10s"))
                    .header("Content-Type", "application/json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            InjectionFixtures.resource("/admission/pod-create.json")))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode answer = JsonMapper.builder().build().readTree(response.body()).get("response");
    assertThat(answer.get("allowed").asBoolean()).isTrue();
    String patch = new String(Base64.getDecoder().decode(answer.get("patch").asString()), UTF_8);
    assertThat(patch)
        .contains("weft-proxy", "weft-agent", "weft-init", InjectionFixtures.INIT_IMAGE);
  }

  @Test
  void servicesCreatedInTheWatchedNamespaceShowInTheDebugApi() throws Exception {
    client
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName("ledger")
                .withNamespace("payments")
                .endMetadata()
                .withNewSpec()
                .addNewPort()
                .withName("grpc")
                .withPort(9090)
                .endPort()
                .endSpec()
                .build())
        .create();
    client
        .resource(
            new EndpointSliceBuilder()
                .withNewMetadata()
                .withName("ledger-x1")
                .withNamespace("payments")
                .addToLabels("kubernetes.io/service-name", "ledger")
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("grpc")
                .withPort(9090)
                .endPort()
                .addNewEndpoint()
                .withAddresses("10.1.0.7")
                .endEndpoint()
                .build())
        .create();

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              JsonNode registry = registry();
              assertThat(registry.get("synced").asBoolean()).isTrue();
              JsonNode ledger = null;
              for (JsonNode service : registry.get("services")) {
                if (service.get("name").asString().equals("ledger")) {
                  ledger = service;
                }
              }
              assertThat(ledger).isNotNull();
              assertThat(ledger.get("endpoints").get(0).get("address").asString())
                  .isEqualTo("10.1.0.7");
            });

    // The service graph page's API is behind the debug API's door; the page itself holds no data.
    HttpResponse<String> anonymous = get("/api/services/payments/ledger", null);
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.body()).contains("kubectl create token");
    assertThat(get("/api/graph?window=1m", null).statusCode()).isEqualTo(401);
    HttpResponse<String> details = get("/api/services/payments/ledger", "debugger-token");
    assertThat(details.statusCode()).isEqualTo(200);
    assertThat(JsonMapper.builder().build().readTree(details.body()).get("zones").toString())
        .isEqualTo("[{\"zone\":\"\",\"ready\":1,\"notReady\":0}]");
    assertThat(get("/ui/", null).statusCode()).isEqualTo(200);
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theLeaderWritesRouteStatusAndUpdatesItWhenAMissingBackendAppears() {
    client.resource(service("checkout", 8080)).create();
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: checkout-canary, namespace: payments}
                spec:
                  parentRefs: [{group: "", kind: Service, name: checkout}]
                  rules:
                  - backendRefs:
                    - {name: checkout, port: 8080, weight: 90}
                    - {name: checkout-v2, port: 8080, weight: 10}
                """,
                HTTPRoute.class))
        .create();

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(conditionsOf("checkout-canary"))
                    .containsEntry("Accepted", "True/Accepted")
                    .containsEntry("ResolvedRefs", "False/BackendNotFound")
                    .containsEntry("Programmed", "True/Programmed"));

    client.resource(service("checkout-v2", 8080)).create();

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(conditionsOf("checkout-canary"))
                    .containsEntry("ResolvedRefs", "True/ResolvedRefs"));
    HTTPRoute route =
        client.resources(HTTPRoute.class).inNamespace("payments").withName("checkout-canary").get();
    assertThat(route.getStatus().getParents()).hasSize(1);
    assertThat(route.getStatus().getParents().get(0).getControllerName())
        .isEqualTo("weft.dev/mesh-controller");
  }

  @Test
  void theCaKeepsItsRootInASecretOfTheControlPlaneNamespace() {
    Secret secret =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> client.secrets().inNamespace("weft-system").withName("weft-ca").get(),
                found -> found != null);

    assertThat(secret).isNotNull();
    assertThat(secret.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "weft");
    assertThat(secret.getData()).isNotEmpty();
  }

  @Test
  void policiesGetAcceptedOrConflictedConditions() {
    client.resource(service("inventory", 8080)).create();
    client.resource(trafficPolicy("inventory-a")).create();
    client.resource(trafficPolicy("inventory-b")).create();

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              assertThat(policyConditions("inventory-a"))
                  .containsEntry("Accepted", "True/Accepted")
                  .containsEntry("Programmed", "True/Programmed");
              assertThat(policyConditions("inventory-b"))
                  .containsEntry("Accepted", "False/Conflicted");
            });
  }

  @Test
  void aRateLimitPolicysStatusSaysOnlyEnvoySidecarsEnforceIt() {
    client.resource(service("billing", 8080)).create();
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: RateLimitPolicy
                metadata: {name: billing-limit, namespace: payments}
                spec:
                  targetRefs: [{group: "", kind: Service, name: billing}]
                  local: {requests: 100, per: 1s}
                """,
                RateLimitPolicy.class))
        .create();

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              RateLimitPolicy current =
                  client
                      .resources(RateLimitPolicy.class)
                      .inNamespace("payments")
                      .withName("billing-limit")
                      .get();
              assertThat(current.getStatus()).isNotNull();
              assertThat(current.getStatus().getConditions())
                  .extracting(
                      condition ->
                          condition.getType()
                              + "="
                              + condition.getStatus()
                              + "/"
                              + condition.getReason()
                              + ": "
                              + condition.getMessage())
                  .containsExactly(
                      "Accepted=True/Accepted: " + ConfigStatus.RATE_LIMIT_ACCEPTED,
                      "Programmed=True/Programmed: 0 of 0 proxies hold it");
            });
  }

  @Test
  void theFirstOfTwoTelemetriesInANamespaceIsAcceptedAndTheOtherConflicted() {
    client.resource(telemetry("first", "2026-11-01T00:00:00Z")).create();
    client.resource(telemetry("second", "2026-11-02T00:00:00Z")).create();

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              assertThat(telemetryConditions("first"))
                  .containsExactly(
                      "Accepted=True/Accepted: " + ConfigStatus.TELEMETRY_ACCEPTED,
                      "Programmed=True/Programmed: 0 of 0 proxies hold it");
              assertThat(telemetryConditions("second"))
                  .first()
                  .asString()
                  .startsWith(
                      "Accepted=False/Conflicted: Telemetry payments/first also targets every"
                          + " Service of namespace payments");
            });
  }

  private static Telemetry telemetry(String name, String createdAt) {
    Telemetry telemetry =
        Serialization.unmarshal(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: Telemetry
            metadata: {name: %s, namespace: payments}
            spec:
              tracing: {randomSamplingPercentage: 10, otlp: {endpoint: 'otel-collector.observability:4317'}}
            """
                .formatted(name),
            Telemetry.class);
    telemetry.getMetadata().setCreationTimestamp(createdAt);
    return telemetry;
  }

  private List<String> telemetryConditions(String name) {
    Telemetry current =
        client.resources(Telemetry.class).inNamespace("payments").withName(name).get();
    if (current.getStatus() == null) {
      return List.of();
    }
    return current.getStatus().getConditions().stream()
        .map(
            condition ->
                condition.getType()
                    + "="
                    + condition.getStatus()
                    + "/"
                    + condition.getReason()
                    + ": "
                    + condition.getMessage())
        .toList();
  }

  private static TrafficPolicy trafficPolicy(String name) {
    return Serialization.unmarshal(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: TrafficPolicy
        metadata: {name: %s, namespace: payments}
        spec:
          targetRefs: [{group: "", kind: Service, name: inventory}]
          connectionLimits: {maxRequests: 100}
        """
            .formatted(name),
        TrafficPolicy.class);
  }

  private Map<String, String> policyConditions(String name) {
    TrafficPolicy current =
        client.resources(TrafficPolicy.class).inNamespace("payments").withName(name).get();
    Map<String, String> conditions = new TreeMap<>();
    if (current.getStatus() != null && current.getStatus().getConditions() != null) {
      for (Condition condition : current.getStatus().getConditions()) {
        conditions.put(condition.getType(), condition.getStatus() + "/" + condition.getReason());
      }
    }
    return conditions;
  }

  /** Weft's conditions on a route, as type -> "status/reason". */
  private Map<String, String> conditionsOf(String route) {
    HTTPRoute current =
        client.resources(HTTPRoute.class).inNamespace("payments").withName(route).get();
    Map<String, String> conditions = new TreeMap<>();
    if (current.getStatus() != null && current.getStatus().getParents() != null) {
      for (RouteParentStatus parent : current.getStatus().getParents()) {
        for (Condition condition : parent.getConditions()) {
          conditions.put(condition.getType(), condition.getStatus() + "/" + condition.getReason());
        }
      }
    }
    return conditions;
  }

  private static io.fabric8.kubernetes.api.model.Service service(String name, int port) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("payments")
        .endMetadata()
        .withNewSpec()
        .addNewPort()
        .withName("http")
        .withPort(port)
        .endPort()
        .endSpec()
        .build();
  }

  private JsonNode registry() throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/debug/registry"))
                    .header("Authorization", "Bearer debugger-token")
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    return JsonMapper.builder().build().readTree(response.body());
  }
}
