package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
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
    properties = {"weft.mode=kubernetes", "weft.kubernetes.namespaces=payments"})
class KubernetesModeApplicationTest {

  @TestConfiguration
  static class MockApiServer {
    @Bean(destroyMethod = "destroy")
    KubernetesMockServer kubernetesMockServer() {
      KubernetesMockServer server =
          new KubernetesMockServer(
              new Context(),
              new MockWebServer(),
              new HashMap<>(),
              new KubernetesMixedDispatcher(new HashMap<>()),
              false);
      server.init();
      return server;
    }

    @Bean(destroyMethod = "close")
    KubernetesClient kubernetesClient(KubernetesMockServer server) {
      return server.createClient();
    }
  }

  @Autowired KubernetesClient client;
  @LocalServerPort int port;

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
              JsonNode services = registry.get("services");
              assertThat(services).hasSize(1);
              assertThat(services.get(0).get("name").asString()).isEqualTo("ledger");
              assertThat(services.get(0).get("endpoints").get(0).get("address").asString())
                  .isEqualTo("10.1.0.7");
            });
  }

  private JsonNode registry() throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/debug/registry"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    return JsonMapper.builder().build().readTree(response.body());
  }
}
