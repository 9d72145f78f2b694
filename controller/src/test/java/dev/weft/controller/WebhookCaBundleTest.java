package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.Pem;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader's upkeep of the injection webhook's {@code caBundle}, against Fabric8's mock API
 * server in CRUD mode.
 */
class WebhookCaBundleTest {

  private static final String NAME = "weft-sidecar-injector";

  @TempDir Path dir;

  private final KubernetesMockServer server =
      new KubernetesMockServer(
          new Context(),
          new MockWebServer(),
          new HashMap<>(),
          new KubernetesCrudDispatcher(),
          false);
  private static final String WRITER = "webhook-ca-bundle-writer";

  private KubernetesClient client;
  private KubernetesClient writerClient;
  private final AtomicReference<Optional<String>> bundle = new AtomicReference<>(Optional.empty());
  private WebhookCaBundle<MutatingWebhookConfiguration> writer;

  @BeforeEach
  void start() {
    server.init();
    client = server.createClient();
    // The writer's requests are told from the test's own by their User-Agent.
    writerClient =
        new KubernetesClientBuilder()
            .withConfig(new ConfigBuilder(client.getConfiguration()).withUserAgent(WRITER).build())
            .build();
    writer =
        new WebhookCaBundle<>(
            WebhookCaBundle.MUTATING,
            writerClient,
            NAME,
            bundle::get,
            DaemonThreads.singleThread("test-webhook-ca-bundle"),
            Duration.ofMillis(100));
  }

  @AfterEach
  void stop() {
    writer.close();
    writerClient.close();
    client.close();
    server.destroy();
  }

  private static MutatingWebhookConfiguration configuration() {
    return new MutatingWebhookConfigurationBuilder()
        .withNewMetadata()
        .withName(NAME)
        .endMetadata()
        // Someone else's webhook in the same object: never touched.
        .addNewWebhook()
        .withName("audit.example.com")
        .withNewClientConfig()
        .withUrl("https://audit.example.com/mutate")
        .withCaBundle("b3RoZXJz")
        .endClientConfig()
        .withAdmissionReviewVersions("v1")
        .withSideEffects("None")
        .endWebhook()
        // As the chart creates it: no bundle, which only the running CA knows.
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
        .build();
  }

  private String caBundle(String webhook) {
    MutatingWebhookConfiguration current =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).get();
    return current.getWebhooks().stream()
        .filter(w -> w.getName().equals(webhook))
        .map(MutatingWebhook::getClientConfig)
        .findFirst()
        .orElseThrow()
        .getCaBundle();
  }

  private static String base64(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theLeaderWritesTheTrustBundleIntoWeftsWebhookAndPutsItBack() throws Exception {
    String pem =
        Pem.certificates(
            CertificateAuthority.builder()
                .store(KeyMaterialStore.directory(dir.resolve("ca")))
                .build()
                .trustBundle());
    writer.startLeading();
    bundle.set(Optional.of(pem));
    // Created after the leader started following it, as on a first install.
    client.resource(configuration()).create();

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(caBundle("sidecar-injector.weft.dev")).isEqualTo(base64(pem)));
    assertThat(caBundle("audit.example.com")).isEqualTo("b3RoZXJz");

    // An edit of the bundle is undone...
    MutatingWebhookConfiguration edited =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).get();
    edited.getWebhooks().get(1).getClientConfig().setCaBundle("");
    client.resource(edited).update();

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(caBundle("sidecar-injector.weft.dev")).isEqualTo(base64(pem)));

    // ...and a new bundle (a root rotation) replaces the old.
    String rotated = pem + pem;
    bundle.set(Optional.of(rotated));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(caBundle("sidecar-injector.weft.dev")).isEqualTo(base64(rotated)));
    assertThat(caBundle("audit.example.com")).isEqualTo("b3RoZXJz");

    // What it asked of the API server: only of this object, by name (so RBAC can restrict every
    // request to it), and a write only when a bundle differed: three in all.
    List<String> requests = new ArrayList<>();
    for (RecordedRequest request = server.takeRequest(0, TimeUnit.SECONDS);
        request != null;
        request = server.takeRequest(0, TimeUnit.SECONDS)) {
      if (WRITER.equals(request.getHeader("User-Agent"))) {
        requests.add(request.getMethod() + " " + request.getPath());
      }
    }
    String resource = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
    assertThat(requests)
        .filteredOn(request -> request.startsWith("GET "))
        .isNotEmpty()
        .allSatisfy(
            request ->
                assertThat(request)
                    .startsWith("GET " + resource + "?")
                    .contains("fieldSelector=metadata.name%3D" + NAME));
    assertThat(requests)
        .filteredOn(request -> !request.startsWith("GET "))
        .containsExactly(
            "PATCH " + resource + "/" + NAME,
            "PATCH " + resource + "/" + NAME,
            "PATCH " + resource + "/" + NAME);
  }

  @Test
  void theValidatingWebhooksBundleIsKeptToo() throws Exception {
    String pem =
        Pem.certificates(
            CertificateAuthority.builder()
                .store(KeyMaterialStore.directory(dir.resolve("ca")))
                .build()
                .trustBundle());
    bundle.set(Optional.of(pem));
    client
        .resource(
            new ValidatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName("weft-validator")
                .endMetadata()
                .addNewWebhook()
                .withName("config-validator.weft.dev")
                .withNewClientConfig()
                .withNewService()
                .withNamespace("weft-system")
                .withName("weft")
                .withPath(ValidationReviews.PATH)
                .withPort(443)
                .endService()
                .endClientConfig()
                .withAdmissionReviewVersions("v1")
                .withSideEffects("None")
                .endWebhook()
                .build())
        .create();
    try (WebhookCaBundle<ValidatingWebhookConfiguration> validating =
        new WebhookCaBundle<>(
            WebhookCaBundle.VALIDATING,
            writerClient,
            "weft-validator",
            bundle::get,
            DaemonThreads.singleThread("test-validating-ca-bundle"),
            Duration.ofMillis(100))) {
      validating.startLeading();
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(
                          client
                              .admissionRegistration()
                              .v1()
                              .validatingWebhookConfigurations()
                              .withName("weft-validator")
                              .get()
                              .getWebhooks()
                              .get(0)
                              .getClientConfig()
                              .getCaBundle())
                      .isEqualTo(base64(pem)));
    }
  }
}
