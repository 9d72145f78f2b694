package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * The control plane as a newcomer runs it: standalone, on a copy of the demo config, read over HTTP
 * the way an operator would.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.ca.port=0"})
class StandaloneApplicationTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;

  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = JsonMapper.builder().build();

  @LocalServerPort int port;

  /** Probes and metrics are on the management port. */
  @LocalManagementPort int managementPort;

  @BeforeAll
  static void copyDemoConfig() throws IOException {
    Path demo = Path.of("..", "examples", "demo");
    try (Stream<Path> files = Files.list(demo)) {
      for (Path file : files.toList()) {
        Files.copy(file, configDir.resolve(file.getFileName()));
      }
    }
  }

  @DynamicPropertySource
  static void configDir(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void debugRegistryListsTheDemoServicesAndTheirEndpoints() throws Exception {
    JsonNode registry = get("/debug/registry", 200);

    assertThat(registry.get("synced").asBoolean()).isTrue();
    assertThat(registry.get("version").asLong()).isPositive();
    assertThat(names(registry.get("services"))).contains("demo/greeter", "demo/catalog");
    JsonNode catalog = service(registry, "demo/catalog");
    assertThat(catalog.get("endpoints")).hasSize(3);
    assertThat(catalog.get("readyEndpoints").asInt()).isEqualTo(2);
    JsonNode greeter = service(registry, "demo/greeter");
    assertThat(greeter.get("ports").get(0).get("appProtocol").asString()).isEqualTo("grpc");
    assertThat(greeter.get("endpoints").get(0).get("serviceAccount").asString())
        .isEqualTo("greeter");
    assertThat(registry.get("rejections")).isEmpty();
  }

  @Test
  void healthReportsTheRegistrySynced() throws Exception {
    JsonNode health = get("/actuator/health", 200);

    assertThat(health.get("status").asString()).isEqualTo("UP");
    assertThat(health.at("/components/registry/details/synced").asBoolean()).isTrue();
    assertThat(health.at("/components/ca/status").asString()).isEqualTo("UP");
    assertThat(get("/actuator/health/readiness", 200).get("status").asString()).isEqualTo("UP");
  }

  @Test
  void prometheusExportsRegistryGauges() throws Exception {
    String metrics = getText("/actuator/prometheus");

    assertThat(metrics).contains("weft_registry_services ").contains("weft_registry_synced 1.0");
  }

  @Test
  void brokenFileIsReportedWhileItsLastGoodObjectsKeepServing() throws Exception {
    Path file = configDir.resolve("broken-then-fixed.yaml");
    Files.writeString(
        file,
        """
        apiVersion: v1
        kind: Service
        metadata: {name: ledger, namespace: demo}
        spec:
          ports: [{name: http, port: 8080}]
        """);
    await()
        .atMost(WAIT)
        .until(() -> names(get("/debug/registry", 200).get("services")).contains("demo/ledger"));

    Files.writeString(file, "apiVersion: v1\nkind: Service\nmetadata: [unclosed\n");

    await().atMost(WAIT).until(() -> !get("/debug/registry", 200).get("rejections").isEmpty());
    JsonNode registry = get("/debug/registry", 200);
    JsonNode rejection = registry.get("rejections").get(0);
    assertThat(rejection.get("origin").asString()).endsWith("broken-then-fixed.yaml");
    assertThat(rejection.get("errors").get(0).get("reason").asString())
        .startsWith("YAML syntax error at line");
    assertThat(names(registry.get("services"))).contains("demo/ledger");

    Files.delete(file);
    await()
        .atMost(WAIT)
        .until(() -> !names(get("/debug/registry", 200).get("services")).contains("demo/ledger"));
    assertThat(get("/debug/registry", 200).get("rejections")).isEmpty();
  }

  private JsonNode get(String path, int expectedStatus) throws IOException, InterruptedException {
    HttpResponse<String> response = send(path);
    assertThat(response.statusCode()).isEqualTo(expectedStatus);
    return json.readTree(response.body());
  }

  private String getText(String path) throws IOException, InterruptedException {
    HttpResponse<String> response = send(path);
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  private HttpResponse<String> send(String path) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create(
                    "http://localhost:"
                        + (path.startsWith("/actuator") ? managementPort : port)
                        + path))
            .GET()
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> names(JsonNode services) {
    List<String> names = new ArrayList<>();
    for (JsonNode service : services) {
      names.add(service.get("namespace").asString() + "/" + service.get("name").asString());
    }
    return names;
  }

  private static JsonNode service(JsonNode registry, String name) {
    for (JsonNode service : registry.get("services")) {
      if ((service.get("namespace").asString() + "/" + service.get("name").asString())
          .equals(name)) {
        return service;
      }
    }
    throw new AssertionError("no service " + name + " in " + registry);
  }
}
