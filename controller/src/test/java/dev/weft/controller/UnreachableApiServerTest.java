package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A replica that starts while the API server cannot be reached: it stays up (live) but unready,
 * says why in its health, and becomes ready, with its CA serving, once the API server answers.
 */
class UnreachableApiServerTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void aReplicaStartedWithoutItsApiServerWaitsUnreadySaysWhyAndRecovers() throws Exception {
    int apiPort;
    int port;
    try (ServerSocket api = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ServerSocket management = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      apiPort = api.getLocalPort();
      port = management.getLocalPort();
    }
    String url = "http://127.0.0.1:" + apiPort;
    // Weft builds its own client, as in a cluster; Fabric8 takes the API server from here.
    System.setProperty("kubernetes.master", url);
    System.setProperty("kubernetes.auth.tryKubeConfig", "false");
    System.setProperty("kubernetes.auth.tryServiceAccount", "false");
    KubernetesMockServer api =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(),
            false);
    try (ConfigurableApplicationContext app =
        new SpringApplicationBuilder(WeftApplication.class)
            .run(
                "--server.port=0",
                "--management.server.port=" + port,
                "--weft.mode=kubernetes",
                "--weft.xds.port=0",
                "--weft.ca.port=0",
                "--weft.webhooks.port=0")) {

      assertThat(status(port, "/actuator/health/liveness")).isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(
              () -> {
                assertThat(status(port, "/actuator/health/readiness")).isEqualTo(503);
                JsonNode health = health(port);
                assertThat(health.at("/components/registry/details/reason").asString())
                    .contains("API server " + url)
                    .contains("Connection refused");
                assertThat(health.at("/components/ca/status").asString()).isEqualTo("DOWN");
                assertThat(health.at("/components/ca/details/reason").asString())
                    .startsWith("loading the CA's key material failed:");
              });

      api.init(InetAddress.getLoopbackAddress(), apiPort);

      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                assertThat(status(port, "/actuator/health/readiness")).isEqualTo(200);
                assertThat(health(port).at("/components/ca/status").asString()).isEqualTo("UP");
              });
    } finally {
      api.destroy();
      System.clearProperty("kubernetes.master");
      System.clearProperty("kubernetes.auth.tryKubeConfig");
      System.clearProperty("kubernetes.auth.tryServiceAccount");
    }
  }

  private static int status(int port, String path) throws IOException, InterruptedException {
    return HTTP.send(request(port, path), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static JsonNode health(int port) throws IOException, InterruptedException {
    return JsonMapper.builder()
        .build()
        .readTree(
            HTTP.send(request(port, "/actuator/health"), HttpResponse.BodyHandlers.ofString())
                .body());
  }

  private static HttpRequest request(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build();
  }
}
