package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.CaServer;
import dev.weft.ca.WorkloadAgent;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The CA in Kubernetes mode with its default settings, as workloads meet it: a ServiceAccount token
 * projected for the audience {@code weft} gets a certificate; the token every pod mounts by default
 * (bound to the API server's audience) does not; and a pod running as the control plane's own
 * ServiceAccount cannot get the control plane's identity. The mock API server answers TokenReviews
 * as a real one does, from the audiences each token was issued for.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "weft.mode=kubernetes",
      "weft.kubernetes.namespaces=shop",
      "weft.ca.port=0",
      "weft.webhooks.port=0"
    })
class CaTokenReviewApplicationTest {

  static final String API_SERVER_AUDIENCE = "https://kubernetes.default.svc.cluster.local";

  /** What the API server knows of each token: its user and the audiences it was issued for. */
  static final Map<String, List<String>> TOKENS =
      Map.of(
          "projected-for-weft", List.of("system:serviceaccount:shop:checkout", "weft"),
          "mounted-by-default", List.of("system:serviceaccount:shop:checkout", API_SERVER_AUDIENCE),
          "weft-own-service-account", List.of("system:serviceaccount:weft-system:weft", "weft"));

  @TestConfiguration
  static class MockApiServer {
    @Bean(destroyMethod = "destroy")
    KubernetesMockServer kubernetesMockServer() {
      // One map for expectations (TokenReviews) and the dispatcher, which serves the rest as CRUD.
      Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
      KubernetesMockServer server =
          new KubernetesMockServer(
              new Context(),
              new MockWebServer(),
              responses,
              new KubernetesMixedDispatcher(responses),
              false);
      server.init();
      server
          .expect()
          .post()
          .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
          .andReply(201, request -> review(request.getUtf8Body()))
          .always();
      return server;
    }

    @Bean(destroyMethod = "close")
    KubernetesClient kubernetesClient(KubernetesMockServer server) {
      return server.createClient();
    }

    private static TokenReview review(String body) {
      TokenReview review = Serialization.unmarshal(body, TokenReview.class);
      List<String> known = TOKENS.get(review.getSpec().getToken());
      List<String> wanted =
          review.getSpec().getAudiences() == null || review.getSpec().getAudiences().isEmpty()
              ? List.of(API_SERVER_AUDIENCE)
              : review.getSpec().getAudiences();
      List<String> matched =
          known == null
              ? List.of()
              : known.subList(1, known.size()).stream().filter(wanted::contains).toList();
      if (matched.isEmpty()) {
        return new TokenReviewBuilder(review)
            .withNewStatus()
            .withAuthenticated(false)
            .withError("token audiences is invalid for the target audiences " + wanted)
            .endStatus()
            .build();
      }
      return new TokenReviewBuilder(review)
          .withNewStatus()
          .withAuthenticated(true)
          .withAudiences(matched)
          .withNewUser()
          .withUsername(known.get(0))
          .endUser()
          .endStatus()
          .build();
    }
  }

  @TempDir static Path dir;
  private static ScheduledExecutorService scheduler;

  @Autowired CaLifecycle ca;
  @Autowired MeterRegistry meters;

  @BeforeAll
  static void startScheduler() {
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stopScheduler() {
    scheduler.shutdownNow();
  }

  /** The CA loads its key material off the start-up thread; it serves within moments. */
  @BeforeEach
  void awaitTheCa() {
    await().atMost(Duration.ofSeconds(10)).until(() -> ca.server().isPresent());
  }

  @Test
  void onlyATokenProjectedForWeftGetsACertificateAndNeverTheControlPlanesIdentity()
      throws Exception {
    try (WorkloadAgent agent = agent("projected-for-weft")) {
      assertThat(agent.renewNow().spiffeId())
          .isEqualTo("spiffe://cluster.local/ns/shop/sa/checkout");
    }

    assertThatThrownBy(() -> renew("mounted-by-default"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
              assertThat(e.getStatus().getDescription())
                  .contains("not accepted by the Kubernetes API server", "[weft]");
            });

    assertThatThrownBy(() -> renew("weft-own-service-account"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .contains(
                      "spiffe://cluster.local/ns/weft-system/sa/weft",
                      "control plane's own identity");
            });

    assertThat(refused("bad_credential")).isEqualTo(1);
    assertThat(refused("reserved_identity")).isEqualTo(1);
    assertThat(refused("rate_limited")).isZero();
  }

  private void renew(String token) throws Exception {
    try (WorkloadAgent agent = agent(token)) {
      agent.renewNow();
    }
  }

  private double refused(String reason) {
    return meters.get("weft.ca.refused").tag("reason", reason).counter().count();
  }

  /** An agent with {@code token}, trusting the CA's bundle as a workload's ConfigMap would. */
  private WorkloadAgent agent(String token) throws Exception {
    CaServer server = ca.server().orElseThrow();
    List<X509Certificate> bundle = ca.authority().orElseThrow().trustBundle();
    Path tokenFile = dir.resolve(token);
    Files.writeString(tokenFile, token);
    return WorkloadAgent.builder()
        .target("localhost:" + server.port())
        .serverSpiffeId(server.spiffeId())
        .bootstrapTrustBundle(bundle)
        .tokenFile(tokenFile)
        .outputDirectory(dir.resolve(token + "-svid"))
        .scheduler(scheduler)
        .build();
  }
}
