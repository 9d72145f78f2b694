package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.Pem;
import dev.weft.ca.Svid;
import dev.weft.ca.WorkloadAgent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The certificate authority as a standalone user runs it: a workload agent gets its first
 * certificate from the running control plane with a bootstrap token, trusting the bundle that
 * {@code /debug/ca} shows.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=0", "weft.ca.port=0"})
class CaApplicationTest {

  private static final String TOKEN = "s3cret-shop-token-0123456789";

  @TempDir static Path dir;
  private static ScheduledExecutorService scheduler;

  @LocalServerPort int port;

  /** Probes and metrics are on the management port. */
  @LocalManagementPort int managementPort;

  @Autowired CaLifecycle ca;

  @BeforeAll
  static void writeConfig() throws IOException {
    Files.createDirectories(dir.resolve("config"));
    Files.writeString(
        dir.resolve("tokens"), "# token namespace serviceAccount\n" + TOKEN + " shop checkout\n");
    Files.writeString(dir.resolve("token"), TOKEN);
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stopScheduler() {
    scheduler.shutdownNow();
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", () -> dir.resolve("config").toString());
    properties.add("weft.ca.data-dir", () -> dir.resolve("ca").toString());
    properties.add("weft.ca.bootstrap-tokens", () -> dir.resolve("tokens").toString());
  }

  /** The CA loads its key material off the start-up thread; it serves within moments. */
  @BeforeEach
  void awaitTheCa() {
    await().atMost(Duration.ofSeconds(10)).until(() -> ca.server().isPresent());
  }

  @Test
  void aWorkloadAgentGetsAnSvidForItsBootstrapTokensIdentity() throws Exception {
    JsonNode info = json(get("/debug/ca"));
    List<X509Certificate> bundle = Pem.parseCertificates(info.get("trustBundlePem").asString());
    assertThat(bundle).hasSize(1);
    assertThat(info.get("spiffeId").asString())
        .isEqualTo("spiffe://cluster.local/ns/weft-system/sa/weft");
    JsonNode root = info.get("authorities").get(0);
    assertThat(root.get("kind").asString()).isEqualTo("ROOT");
    assertThat(root.get("status").asString()).isEqualTo("ACTIVE");
    assertThat(root.get("serial").asString())
        .isEqualTo(bundle.get(0).getSerialNumber().toString(16));

    try (WorkloadAgent agent =
        WorkloadAgent.builder()
            .target("localhost:" + info.get("port").asInt())
            .serverSpiffeId(info.get("spiffeId").asString())
            .bootstrapTrustBundle(bundle)
            .tokenFile(dir.resolve("token"))
            .outputDirectory(dir.resolve("svid"))
            .scheduler(scheduler)
            .build()) {
      Svid svid = agent.renewNow();

      assertThat(svid.spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/checkout");
      assertThat(svid.leaf().getSubjectAlternativeNames())
          .containsExactly(List.of(6, "spiffe://cluster.local/ns/shop/sa/checkout"));
      assertThat(svid.trustBundle()).isEqualTo(bundle);
    }
    assertThat(get("/actuator/prometheus"))
        .containsPattern("weft_ca_issued_total(\\{[^}]*\\})? [1-9]")
        .contains("weft_ca_refused_total{reason=\"bad_credential\"}")
        .contains("weft_ca_authority_expiry_seconds{");
    assertThat(json(get("/actuator/health")).at("/components/ca/status").asString())
        .isEqualTo("UP");
  }

  @Test
  void aSecondControlPlaneOnTheSameDataDirectorySignsWithTheSameRoot() {
    try (ConfigurableApplicationContext second =
        new SpringApplicationBuilder(WeftApplication.class)
            .run(
                "--server.port=0",
                "--management.server.port=0",
                "--weft.mode=standalone",
                "--weft.xds.port=0",
                "--weft.ca.port=0",
                "--weft.config-dir=" + dir.resolve("config"),
                "--weft.ca.data-dir=" + dir.resolve("ca"))) {
      CaLifecycle secondCa = second.getBean(CaLifecycle.class);
      await().atMost(Duration.ofSeconds(10)).until(() -> secondCa.authority().isPresent());
      assertThat(secondCa.authority().orElseThrow().trustBundle())
          .isEqualTo(ca.authority().orElseThrow().trustBundle());
    }
  }

  @Test
  void withTheCaDisabledTheControlPlaneStartsWithoutIt() {
    try (ConfigurableApplicationContext withoutCa =
        new SpringApplicationBuilder(WeftApplication.class)
            .run(
                "--server.port=0",
                "--management.server.port=0",
                "--weft.mode=standalone",
                "--weft.xds.port=0",
                "--weft.xds.mtls=strict",
                "--weft.ca.enabled=false",
                "--weft.config-dir=" + dir.resolve("config"))) {
      assertThat(withoutCa.getBeanNamesForType(CaLifecycle.class)).isEmpty();
      assertThat(withoutCa.getBeanNamesForType(CaDebugController.class)).isEmpty();
      assertThat(withoutCa.getBean(WeftProperties.class).xds().mtls())
          .isEqualTo(WeftProperties.Mtls.STRICT);
    }
  }

  private static JsonNode json(String body) {
    return JsonMapper.builder().build().readTree(body);
  }

  private String get(String path) throws IOException, InterruptedException {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://localhost:"
                                + (path.startsWith("/actuator") ? managementPort : port)
                                + path))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }
}
