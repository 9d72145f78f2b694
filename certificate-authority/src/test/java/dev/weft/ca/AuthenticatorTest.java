package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authenticators. TokenReview runs against the Fabric8 mock API server in expectations mode: in
 * CRUD mode it stores a TokenReview and echoes it back without a status, so it cannot say which
 * token is valid. The expectation below plays the API server's part: it answers from the token and
 * audiences in each request, as a real one would.
 */
@EnableKubernetesMockClient
class AuthenticatorTest {

  static final Map<String, String> TOKENS =
      Map.of(
          "sa-token", "system:serviceaccount:shop:alice",
          "user-token", "jane@example.com");

  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path dir;

  @BeforeEach
  void apiServerReviewsTokens() {
    server
        .expect()
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReply(
            201,
            request -> {
              TokenReview review =
                  Serialization.unmarshal(request.getUtf8Body(), TokenReview.class);
              String user = TOKENS.get(review.getSpec().getToken());
              List<String> audiences = review.getSpec().getAudiences();
              boolean boundToWeft =
                  audiences == null || audiences.isEmpty() || audiences.contains("weft");
              return new TokenReviewBuilder(review)
                  .withNewStatus()
                  .withAuthenticated(user != null && boundToWeft)
                  .withAudiences(audiences)
                  .withNewUser()
                  .withUsername(user)
                  .endUser()
                  .endStatus()
                  .build();
            })
        .always();
  }

  @Test
  void tokenReviewAcceptsAServiceAccountToken() {
    AuthResult result =
        Authenticator.kubernetesTokenReview(client, List.of("weft"))
            .authenticate(CallerCredentials.token("sa-token"));

    assertThat(result)
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "alice")));
  }

  @Test
  void tokenReviewRefusesAnUnknownToken() {
    AuthResult result =
        Authenticator.kubernetesTokenReview(client, List.of("weft"))
            .authenticate(CallerCredentials.token("nope"));

    assertThat(result).isInstanceOf(AuthResult.Refused.class);
    assertThat(((AuthResult.Refused) result).reason()).contains("not accepted");
  }

  @Test
  void tokenReviewRefusesATokenForAnotherAudience() {
    AuthResult result =
        Authenticator.kubernetesTokenReview(client, List.of("vault"))
            .authenticate(CallerCredentials.token("sa-token"));

    assertThat(result).isInstanceOf(AuthResult.Refused.class);
  }

  @Test
  void tokenReviewRefusesAUserThatIsNotAServiceAccount() {
    AuthResult result =
        Authenticator.kubernetesTokenReview(client, List.of())
            .authenticate(CallerCredentials.token("user-token"));

    assertThat(((AuthResult.Refused) result).reason())
        .contains("not to a Kubernetes ServiceAccount");
  }

  @Test
  void anUnreachableApiServerIsUnavailableNotARefusal() {
    KubernetesClient unreachable =
        new io.fabric8.kubernetes.client.KubernetesClientBuilder()
            .withConfig(
                new io.fabric8.kubernetes.client.ConfigBuilder()
                    .withMasterUrl("https://127.0.0.1:1")
                    .withRequestRetryBackoffLimit(0)
                    .build())
            .build();
    try {
      assertThat(
              Authenticator.kubernetesTokenReview(unreachable, List.of())
                  .authenticate(CallerCredentials.token("sa-token")))
          .isInstanceOf(AuthResult.Unavailable.class);
    } finally {
      unreachable.close();
    }
  }

  @Test
  void withoutATokenNothingIsPresented() {
    assertThat(
            Authenticator.kubernetesTokenReview(client, List.of())
                .authenticate(CallerCredentials.none()))
        .isInstanceOf(AuthResult.NotPresented.class);
  }

  @Test
  void bootstrapTokensReloadWhenTheFileChangesAndKeepTheLastGoodOnABadEdit() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, "t1 shop alice\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);
    assertThat(tokens.authenticate(CallerCredentials.token("t1")))
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "alice")));

    Files.writeString(file, "t2 shop bob\n");
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
    assertThat(tokens.authenticate(CallerCredentials.token("t1")))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(tokens.authenticate(CallerCredentials.token("t2")))
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "bob")));

    Files.writeString(file, "t3 half-written-line\n");
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(20)));
    assertThat(tokens.authenticate(CallerCredentials.token("t2")))
        .as("a bad edit keeps the last good tokens")
        .isInstanceOf(AuthResult.Authenticated.class);
  }

  @Test
  void firstOfPrefersAnAuthenticationOverARefusal() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, "t1 shop alice\n");
    Authenticator both =
        Authenticator.firstOf(
            List.of(
                Authenticator.kubernetesTokenReview(client, List.of()),
                Authenticator.bootstrapTokens(file)));

    assertThat(both.authenticate(CallerCredentials.token("t1")))
        .isInstanceOf(AuthResult.Authenticated.class);
    assertThat(both.authenticate(CallerCredentials.token("zz")))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(both.authenticate(CallerCredentials.none()))
        .isInstanceOf(AuthResult.NotPresented.class);
  }
}
