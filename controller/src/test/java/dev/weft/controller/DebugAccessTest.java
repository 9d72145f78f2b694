package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Who may read the debug API in a cluster, decided by the API server's TokenReview. */
class DebugAccessTest {

  private final AtomicInteger reviews = new AtomicInteger();
  private final KubernetesMockServer server =
      new KubernetesMockServer(
          new Context(), new MockWebServer(), new HashMap<>(), new Reviewer(), false);
  private final AtomicLong nanos = new AtomicLong();
  private final DebugAccess access;
  private final KubernetesClient client;

  DebugAccessTest() {
    server.init();
    client = server.createClient();
    Ticker ticker = nanos::get;
    access = new DebugAccess(client, List.of("ops/viewer"), List.of("system:masters"), ticker);
  }

  @AfterEach
  void stop() {
    client.close();
    server.destroy();
  }

  @Test
  void anAllowedServiceAccountOrGroupIsLetIn() {
    assertThat(access.check("Bearer ops-viewer"))
        .isEqualTo(new DebugAccess.Verdict.Allowed("system:serviceaccount:ops:viewer"));
    assertThat(access.check("Bearer admin"))
        .isEqualTo(new DebugAccess.Verdict.Allowed("kubernetes-admin"));
  }

  @Test
  void aRequestWithoutATokenIsToldHowToGetOne() {
    DebugAccess.Verdict verdict = access.check(null);

    assertThat(verdict).isInstanceOf(DebugAccess.Verdict.Refused.class);
    assertThat(((DebugAccess.Verdict.Refused) verdict).httpStatus()).isEqualTo(401);
    assertThat(((DebugAccess.Verdict.Refused) verdict).reason()).contains("kubectl create token");
  }

  @Test
  void aValidTokenOfSomeoneElseIsForbiddenAndAnInvalidOneUnauthorized() {
    assertThat(access.check("Bearer alice"))
        .isEqualTo(
            new DebugAccess.Verdict.Refused(
                403,
                "alice may not read the debug API: allow its ServiceAccount in"
                    + " weft.http.debug-service-accounts or one of its groups in"
                    + " weft.http.debug-groups"));
    assertThat(access.check("Bearer forged"))
        .isEqualTo(new DebugAccess.Verdict.Refused(401, "the token is not valid"));
  }

  @Test
  void verdictsAreCachedBrieflySoAPolledPageCostsOneReview() {
    for (int i = 0; i < 20; i++) {
      access.check("Bearer ops-viewer");
    }
    assertThat(reviews).hasValue(1);

    nanos.addAndGet(DebugAccess.CACHE_FOR.toNanos() + 1);
    access.check("Bearer ops-viewer");

    assertThat(reviews).hasValue(2);
  }

  /** The API server's TokenReview, for the few tokens the tests use. */
  private final class Reviewer extends KubernetesCrudDispatcher {
    @Override
    public MockResponse dispatch(RecordedRequest request) {
      if (!request.getPath().startsWith("/apis/authentication.k8s.io/v1/tokenreviews")) {
        return super.dispatch(request);
      }
      reviews.incrementAndGet();
      TokenReview review = Serialization.unmarshal(request.getUtf8Body(), TokenReview.class);
      TokenReviewStatusBuilder status = new TokenReviewStatusBuilder().withAuthenticated(true);
      switch (review.getSpec().getToken()) {
        case "ops-viewer" ->
            status.withNewUser().withUsername("system:serviceaccount:ops:viewer").endUser();
        case "admin" ->
            status
                .withNewUser()
                .withUsername("kubernetes-admin")
                .withGroups("system:masters", "system:authenticated")
                .endUser();
        case "alice" ->
            status.withNewUser().withUsername("alice").withGroups("system:authenticated").endUser();
        default -> status.withAuthenticated(false);
      }
      review.setStatus(status.build());
      return new MockResponse().setResponseCode(201).setBody(Serialization.asJson(review));
    }
  }
}
