package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

  static final String T1 = "t1-0123456789abcdefghijk";
  static final String T2 = "t2-0123456789abcdefghijk";

  @Test
  void bootstrapTokensReloadWhenTheFileChanges() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, T1 + " shop alice\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);
    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "alice")));

    Files.writeString(file, T2 + " shop bob\n");
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(tokens.authenticate(CallerCredentials.token(T2)))
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "bob")));
  }

  @Test
  void aBadLineIsIgnoredOnItsOwnWhileTheOtherLinesTakeEffect() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, T1 + " shop alice\n" + T2 + " shop bob\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);
    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Authenticated.class);

    // Alice's line removed, and a half-written line added: the removal takes effect all the same.
    Files.writeString(file, T2 + " shop bob\nt3-0123456789abcdefghijk half-written-line\n");

    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(tokens.authenticate(CallerCredentials.token(T2)))
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "bob")));
    assertThat(tokens.authenticate(CallerCredentials.token("t3-0123456789abcdefghijk")))
        .isInstanceOf(AuthResult.Refused.class);
  }

  @Test
  void aLineWhoseIdentityIsNoSpiffePathSegmentIsIgnored() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, T1 + " shop ali/ce\n" + T2 + " shop bob\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);

    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(tokens.authenticate(CallerCredentials.token(T2)))
        .isInstanceOf(AuthResult.Authenticated.class);
  }

  @Test
  void aTokenListedForTwoIdentitiesIsAcceptedForNeither() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(
        file,
        T1 + " shop alice\n" + T1 + " shop bob\n" + T2 + " shop carol\n" + T2 + " shop carol\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);

    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(tokens.authenticate(CallerCredentials.token(T2)))
        .as("the same line twice is harmless")
        .isEqualTo(new AuthResult.Authenticated(new WorkloadIdentity("shop", "carol")));
  }

  @Test
  void aFileThatCannotBeReadAcceptsNoToken() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, T1 + " shop alice\n");
    Authenticator tokens = Authenticator.bootstrapTokens(file);
    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Authenticated.class);

    // Root reads any file whatever its mode, so "unreadable" is a directory in the file's place.
    Files.delete(file);
    Files.createDirectory(file);

    assertThat(tokens.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Refused.class);
  }

  @Test
  void eachIgnoredLineIsLoggedWithItsNumberAndWhyButNeverWithItsToken() throws Exception {
    Path file = dir.resolve("tokens");
    String weak = "weak-token";
    Files.writeString(
        file,
        "# token namespace serviceAccount\n"
            + T1
            + " shop alice\n"
            + weak
            + " shop bob\n"
            + T2
            + " shop\n");
    PrintStream stderr = System.err;
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    // slf4j-simple writes to whatever System.err is at the time.
    System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    try {
      assertThat(Authenticator.bootstrapTokens(file).authenticate(CallerCredentials.token(T1)))
          .isInstanceOf(AuthResult.Authenticated.class);
    } finally {
      System.setErr(stderr);
    }

    assertThat(log.toString(StandardCharsets.UTF_8))
        .contains(
            file + " line 3: the token is too short: 10 characters, and 128 bits need at least 22",
            file + " line 4: expected '<token> <namespace> <serviceAccount>', found 2 field(s)",
            "1 bootstrap token(s) accepted")
        .doesNotContain(weak)
        .doesNotContain(T1)
        .doesNotContain(T2);
  }

  @Test
  void tokensShorterThan128BitsAreRefusedWithTheReason() {
    assertThat(BootstrapTokenAuthenticator.weakness("z".repeat(21)))
        .hasValueSatisfying(
            why -> assertThat(why).contains("21 characters", "128 bits", "22 characters"));
    assertThat(BootstrapTokenAuthenticator.weakness("a".repeat(20) + "-_")).isEmpty();
    assertThat(BootstrapTokenAuthenticator.weakness("0123456789abcdef".repeat(2).substring(1)))
        .hasValueSatisfying(why -> assertThat(why).contains("31 hex digits", "32 hex digits"));
    assertThat(BootstrapTokenAuthenticator.weakness("0123456789abcdef".repeat(2))).isEmpty();
    assertThat(BootstrapTokenAuthenticator.weakness("1".repeat(38)))
        .hasValueSatisfying(why -> assertThat(why).contains("38 decimal digits", "39 digits"));
    assertThat(BootstrapTokenAuthenticator.weakness("1".repeat(39))).isEmpty();
    assertThat(BootstrapTokenAuthenticator.weakness("é".repeat(40)))
        .hasValueSatisfying(why -> assertThat(why).contains("not printable ASCII"));
    // openssl rand -base64 16: 24 characters, padding included.
    assertThat(BootstrapTokenAuthenticator.weakness("q83vEjRWeJq83vEjRWeJqw==")).isEmpty();
  }

  @Test
  void firstOfPrefersAnAuthenticationOverARefusal() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, T1 + " shop alice\n");
    Authenticator both =
        Authenticator.firstOf(
            List.of(
                Authenticator.kubernetesTokenReview(client, List.of()),
                Authenticator.bootstrapTokens(file)));

    assertThat(both.authenticate(CallerCredentials.token(T1)))
        .isInstanceOf(AuthResult.Authenticated.class);
    assertThat(both.authenticate(CallerCredentials.token("zz")))
        .isInstanceOf(AuthResult.Refused.class);
    assertThat(both.authenticate(CallerCredentials.none()))
        .isInstanceOf(AuthResult.NotPresented.class);
  }
}
