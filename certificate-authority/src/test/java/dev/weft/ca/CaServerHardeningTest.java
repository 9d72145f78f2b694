package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CSR service's defences as an attacker or operator meets them, over real gRPC calls: tokens
 * removed from the bootstrap file stop working at once, weak tokens are refused at load, a token
 * must be bound to Weft's audience, requests without a current SVID are rate-limited per peer,
 * TokenReviews are cached, and the control plane's own identity is issued to no caller.
 *
 * <p>Time is a {@link FakeClock}: it drives the bootstrap file's re-read interval, the rate limit's
 * buckets and the TokenReview cache, so nothing sleeps. The CA and TLS use the real clock.
 *
 * <p>TokenReviews go to Fabric8's mock API server, answering as a real one does: a token is
 * accepted when one of the audiences it was issued for is one the review asks for (or, when the
 * review names none, the API server's own), and the status names the audiences that matched.
 */
@EnableKubernetesMockClient
class CaServerHardeningTest {

  static final String API_SERVER_AUDIENCE = "https://kubernetes.default.svc.cluster.local";

  /** A token and what the API server knows of it. */
  record IssuedToken(String user, List<String> audiences) {}

  static final Map<String, IssuedToken> SERVICE_ACCOUNT_TOKENS =
      Map.of(
          "projected-for-weft",
          new IssuedToken("system:serviceaccount:shop:alice", List.of("weft")),
          "mounted-by-default",
          new IssuedToken("system:serviceaccount:shop:alice", List.of(API_SERVER_AUDIENCE)),
          "weft-own-service-account",
          new IssuedToken("system:serviceaccount:weft-system:weft", List.of("weft")));

  static final String ALICE = "alice-0123456789abcdefghij";
  static final String BOB = "bob-0123456789abcdefghijkl";

  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path dir;

  final FakeClock clock = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));
  final AtomicInteger reviews = new AtomicInteger();
  final List<RefusalReason> refusals = new CopyOnWriteArrayList<>();
  final List<WorkloadIdentity> issued = new CopyOnWriteArrayList<>();
  final List<CaServer> servers = new ArrayList<>();
  final List<ManagedChannel> channels = new ArrayList<>();
  CaMetrics metrics;
  CertificateAuthority ca;
  Path tokens;
  byte[] csr;

  @BeforeEach
  void setUp() throws Exception {
    metrics =
        new CaMetrics() {
          @Override
          public void issued(WorkloadIdentity identity, long signingNanos) {
            issued.add(identity);
          }

          @Override
          public void refused(RefusalReason reason) {
            refusals.add(reason);
          }
        };
    ca =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("ca")))
            .metrics(metrics)
            .build();
    tokens = dir.resolve("tokens");
    csr = TestCsrs.plain(TestCsrs.ec("secp256r1"));
    server
        .expect()
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReply(
            201,
            request -> {
              reviews.incrementAndGet();
              TokenReview review =
                  Serialization.unmarshal(request.getUtf8Body(), TokenReview.class);
              IssuedToken token = SERVICE_ACCOUNT_TOKENS.get(review.getSpec().getToken());
              List<String> wanted =
                  review.getSpec().getAudiences() == null
                          || review.getSpec().getAudiences().isEmpty()
                      ? List.of(API_SERVER_AUDIENCE)
                      : review.getSpec().getAudiences();
              List<String> matched =
                  token == null
                      ? List.of()
                      : token.audiences().stream().filter(wanted::contains).toList();
              TokenReviewBuilder answer = new TokenReviewBuilder(review);
              if (matched.isEmpty()) {
                return answer
                    .withNewStatus()
                    .withAuthenticated(false)
                    .withError(
                        token == null
                            ? "invalid bearer token"
                            : "token audiences "
                                + token.audiences()
                                + " is invalid for the target"
                                + " audiences "
                                + wanted)
                    .endStatus()
                    .build();
              }
              return answer
                  .withNewStatus()
                  .withAuthenticated(true)
                  .withAudiences(matched)
                  .withNewUser()
                  .withUsername(token.user())
                  .endUser()
                  .endStatus()
                  .build();
            })
        .always();
  }

  @AfterEach
  void tearDown() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    for (CaServer caServer : servers) {
      caServer.close();
    }
  }

  /** A CA server whose bootstrap tokens are re-read by the fake clock. */
  CaServer withBootstrapTokens() throws Exception {
    return start(
        CaServer.builder(ca)
            .authenticator(
                Authenticator.firstOf(
                    List.of(
                        Authenticator.currentSvid(ca, Clock.systemUTC()),
                        new BootstrapTokenAuthenticator(tokens, clock)))));
  }

  /** A CA server that reviews ServiceAccount tokens, requiring Weft's audience. */
  CaServer withTokenReview() throws Exception {
    return start(
        CaServer.builder(ca)
            .authenticator(
                Authenticator.firstOf(
                    List.of(
                        Authenticator.currentSvid(ca, Clock.systemUTC()),
                        new TokenReviewAuthenticator(client, List.of("weft"), clock.ticker()))))
            .unauthenticatedRateLimit(1000, 1000));
  }

  CaServer start(CaServer.Builder builder) throws Exception {
    CaServer started = builder.port(0).metrics(metrics).ticker(clock.ticker()).start();
    servers.add(started);
    return started;
  }

  ManagedChannel channel(CaServer caServer, String host, SvidWithKey clientCertificate) {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                host + ":" + caServer.port(),
                TlsChannelCredentials.newBuilder()
                    .keyManager(new SvidKeyManager(() -> clientCertificate))
                    .trustManager(
                        new SpiffeTrust(
                            ca::trustBundle, Clock.systemUTC(), caServer.spiffeId()::equals))
                    .build())
            .overrideAuthority("localhost")
            .build();
    channels.add(channel);
    return channel;
  }

  ManagedChannel channel(CaServer caServer) {
    return channel(caServer, "127.0.0.1", null);
  }

  Future<CertificateResponse> send(Channel channel, String token) {
    Channel target = channel;
    if (token != null) {
      Metadata headers = new Metadata();
      headers.put(CallerContext.AUTHORIZATION, "Bearer " + token);
      target =
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return ClientCalls.futureUnaryCall(
        target.newCall(
            CertificateServiceGrpc.getCreateCertificateMethod(),
            CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
        CertificateRequest.newBuilder().setCsrDer(ByteString.copyFrom(csr)).build());
  }

  /** The SPIFFE ID issued to a call with {@code token}. */
  String issuedTo(Channel channel, String token) throws Exception {
    CertificateResponse response = send(channel, token).get(10, TimeUnit.SECONDS);
    return SvidAuthenticator.spiffeId(Pem.parseCertificates(response.getCertChainPem(0)).get(0))
        .orElseThrow();
  }

  /** The status a call with {@code token} is refused with. */
  Status refusal(Channel channel, String token) throws Exception {
    try {
      send(channel, token).get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(StatusRuntimeException.class);
      return ((StatusRuntimeException) e.getCause()).getStatus();
    }
    throw new AssertionError("a certificate was issued");
  }

  void assertRefused(Channel channel, String token, Status.Code code, String... words)
      throws Exception {
    Status status = refusal(channel, token);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(code);
    if (words.length > 0) {
      assertThat(status.getDescription()).contains(words);
    }
  }

  // 1. Bootstrap tokens removed from the file stop working at once.

  @Test
  void aTokenRemovedFromTheFileIsRefusedAtOnceEvenWhenAnotherLineHasATypo() throws Exception {
    Files.writeString(tokens, ALICE + " shop alice\n" + BOB + " shop bob\n");
    ManagedChannel channel = channel(withBootstrapTokens());
    assertThat(issuedTo(channel, ALICE)).isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");

    // The operator revokes alice's token, and mistypes a new line in the same edit.
    Files.writeString(tokens, BOB + " shop bob\ncarol-0123456789abcdefghij shop\n");

    assertRefused(channel, ALICE, Status.Code.UNAUTHENTICATED, "not a known bootstrap token");
    assertThat(issuedTo(channel, BOB)).isEqualTo("spiffe://cluster.local/ns/shop/sa/bob");
    assertRefused(
        channel,
        "carol-0123456789abcdefghij",
        Status.Code.UNAUTHENTICATED,
        "not a known bootstrap token");
  }

  @Test
  void aRewriteTheFileTimesCannotShowIsSeenWithinTheRecheckInterval() throws Exception {
    String mallory = "mall-0123456789abcdefghijk";
    assertThat(mallory).hasSameSizeAs(ALICE);
    Files.writeString(tokens, ALICE + " shop alice\n");
    FileTime written = Files.getLastModifiedTime(tokens);
    ManagedChannel channel = channel(withBootstrapTokens());
    assertThat(issuedTo(channel, ALICE)).isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");

    // A second write in the same second, same size, on a file system with whole-second times:
    // the file's attributes are exactly as before.
    Files.writeString(tokens, mallory + " shop alice\n");
    Files.setLastModifiedTime(tokens, written);
    assertThat(issuedTo(channel, ALICE))
        .as("within the interval the attributes are trusted")
        .isNotEmpty();

    clock.advance(BootstrapTokenAuthenticator.RECHECK);

    assertRefused(channel, ALICE, Status.Code.UNAUTHENTICATED, "not a known bootstrap token");
    assertThat(issuedTo(channel, mallory)).isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");
  }

  @Test
  void aDeletedOrEmptiedFileAcceptsNoToken() throws Exception {
    Files.writeString(tokens, ALICE + " shop alice\n");
    ManagedChannel channel = channel(withBootstrapTokens());
    assertThat(issuedTo(channel, ALICE)).isNotEmpty();

    Files.delete(tokens);
    assertRefused(channel, ALICE, Status.Code.UNAUTHENTICATED, "not a known bootstrap token");

    Files.writeString(tokens, ALICE + " shop alice\n");
    assertThat(issuedTo(channel, ALICE)).as("back when the file is").isNotEmpty();

    Files.writeString(tokens, "");
    assertRefused(channel, ALICE, Status.Code.UNAUTHENTICATED, "not a known bootstrap token");
  }

  // 2. Tokens shorter than 128 bits are refused at load.

  @Test
  void aTokenShorterThan128BitsIsRefusedAtLoadAndTheOtherLinesWork() throws Exception {
    String hex31 = "0123456789abcdef0123456789abcde";
    String hex32 = hex31 + "f";
    Files.writeString(
        tokens,
        "tok-alice shop alice\n"
            + hex31
            + " shop bob\n"
            + hex32
            + " shop carol\n"
            + "abcdefghijklmnopqrstu shop dave\n");
    ManagedChannel channel = channel(withBootstrapTokens());

    assertRefused(channel, "tok-alice", Status.Code.UNAUTHENTICATED, "not a known bootstrap token");
    assertRefused(channel, hex31, Status.Code.UNAUTHENTICATED, "not a known bootstrap token");
    assertRefused(
        channel,
        "abcdefghijklmnopqrstu",
        Status.Code.UNAUTHENTICATED,
        "not a known bootstrap token");
    assertThat(issuedTo(channel, hex32)).isEqualTo("spiffe://cluster.local/ns/shop/sa/carol");
  }

  // 3. TokenReview requires the weft audience.

  @Test
  void aTokenNotBoundToWeftIsRefusedAndAProjectedOneIsAccepted() throws Exception {
    ManagedChannel channel = channel(withTokenReview());

    assertRefused(
        channel,
        "mounted-by-default",
        Status.Code.UNAUTHENTICATED,
        "token",
        "not accepted by the Kubernetes API server",
        "weft");
    assertThat(refusals).containsExactly(RefusalReason.BAD_CREDENTIAL);
    assertThat(issuedTo(channel, "projected-for-weft"))
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");
  }

  // 4a. Requests without a current SVID are rate-limited per peer.

  @Test
  void aFloodWithoutACurrentSvidIsLimitedPerPeerAndRenewalsAreNot() throws Exception {
    Files.writeString(tokens, ALICE + " shop alice\n");
    CaServer caServer =
        start(
            CaServer.builder(ca)
                .unauthenticatedRateLimit(2, 3)
                .authenticator(
                    Authenticator.firstOf(
                        List.of(
                            Authenticator.currentSvid(ca, Clock.systemUTC()),
                            new BootstrapTokenAuthenticator(tokens, clock)))));
    ManagedChannel channel = channel(caServer);

    // The burst: three guesses, each authenticated (and refused) the expensive way.
    for (int i = 0; i < 3; i++) {
      assertRefused(channel, "guess-" + i + "-0123456789abcdefghij", Status.Code.UNAUTHENTICATED);
    }
    // Then even a good token waits, and without a credential it is the same.
    assertRefused(
        channel,
        ALICE,
        Status.Code.RESOURCE_EXHAUSTED,
        "too many certificate requests without a current certificate from 127.0.0.1",
        "at most 2 per second (burst 3)");
    assertRefused(channel, null, Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refusals)
        .containsExactly(
            RefusalReason.BAD_CREDENTIAL,
            RefusalReason.BAD_CREDENTIAL,
            RefusalReason.BAD_CREDENTIAL,
            RefusalReason.RATE_LIMITED,
            RefusalReason.RATE_LIMITED);

    // A renewal with a current SVID is never limited.
    SvidWithKey current = ca.issueOwn(new WorkloadIdentity("shop", "carol"), List.of());
    assertThat(issuedTo(channel(caServer, "127.0.0.1", current), null))
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/carol");

    // Half a second refills one request at 2 per second.
    clock.advance(Duration.ofMillis(500));
    assertThat(issuedTo(channel, ALICE)).isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");
    assertRefused(channel, ALICE, Status.Code.RESOURCE_EXHAUSTED);

    // Another peer has a bucket of its own.
    assumeTrue(ipv6Loopback(), "no IPv6 loopback here");
    assertThat(issuedTo(channel(caServer, "[::1]", null), ALICE))
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/alice");
  }

  private static boolean ipv6Loopback() throws Exception {
    InetAddress loopback = InetAddress.getByName("::1");
    return NetworkInterface.getByInetAddress(loopback) != null;
  }

  // 4b. TokenReview results are cached briefly, by the token's hash.

  @Test
  void aFloodOfOneBadTokenCostsOneReviewUntilTheRefusalExpires() throws Exception {
    ManagedChannel channel = channel(withTokenReview());

    List<Future<CertificateResponse>> flood = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      flood.add(send(channel, "stolen-or-guessed"));
    }
    for (Future<CertificateResponse> call : flood) {
      assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(StatusRuntimeException.class)
          .hasMessageContaining("UNAUTHENTICATED");
    }
    assertThat(reviews).hasValue(1);

    clock.advance(TokenReviewAuthenticator.REFUSED_FOR.plusMillis(1));
    assertRefused(channel, "stolen-or-guessed", Status.Code.UNAUTHENTICATED);
    assertThat(reviews).hasValue(2);
  }

  @Test
  void anAcceptedTokenIsReviewedAgainAfterTenSeconds() throws Exception {
    ManagedChannel channel = channel(withTokenReview());

    for (int i = 0; i < 3; i++) {
      assertThat(issuedTo(channel, "projected-for-weft")).endsWith("/ns/shop/sa/alice");
    }
    assertThat(reviews).hasValue(1);
    assertThat(issued).hasSize(3);

    clock.advance(TokenReviewAuthenticator.ACCEPTED_FOR.minusMillis(1));
    issuedTo(channel, "projected-for-weft");
    assertThat(reviews).hasValue(1);
    clock.advance(Duration.ofMillis(2));
    issuedTo(channel, "projected-for-weft");
    assertThat(reviews).hasValue(2);
  }

  // 5. The control plane's own identity is issued to no caller.

  @Test
  void aBootstrapTokenNamingTheControlPlaneGetsNothing() throws Exception {
    Files.writeString(tokens, ALICE + " weft-system weft\n");
    ManagedChannel channel = channel(withBootstrapTokens());

    assertRefused(
        channel,
        ALICE,
        Status.Code.PERMISSION_DENIED,
        "spiffe://cluster.local/ns/weft-system/sa/weft",
        "control plane's own identity");
    assertThat(refusals).containsExactly(RefusalReason.RESERVED_IDENTITY);
    assertThat(issued).isEmpty();
  }

  @Test
  void aPodRunningAsTheControlPlanesServiceAccountGetsNothing() throws Exception {
    ManagedChannel channel = channel(withTokenReview());

    assertRefused(
        channel,
        "weft-own-service-account",
        Status.Code.PERMISSION_DENIED,
        "control plane's own identity");
    assertThat(refusals).containsExactly(RefusalReason.RESERVED_IDENTITY);
    assertThat(issued).isEmpty();
  }

  @Test
  void theServersOwnCertificateCannotRenewIntoItsIdentity() throws Exception {
    CaServer caServer = withBootstrapTokens();
    SvidWithKey own = caServer.lastServing();

    assertRefused(
        channel(caServer, "127.0.0.1", own),
        null,
        Status.Code.PERMISSION_DENIED,
        "control plane's own identity");
    assertThat(refusals).containsExactly(RefusalReason.RESERVED_IDENTITY);
    assertThat(issued).isEmpty();
  }

  @Test
  void theReservedIdentityIsTheOneTheServerIsBuiltWith() throws Exception {
    Files.writeString(tokens, ALICE + " weft-system weft\n" + BOB + " mesh-control weft-cp\n");
    CaServer caServer =
        start(
            CaServer.builder(ca)
                .identity(new WorkloadIdentity("mesh-control", "weft-cp"))
                .authenticator(new BootstrapTokenAuthenticator(tokens, clock)));
    ManagedChannel channel = channel(caServer);

    assertRefused(channel, BOB, Status.Code.PERMISSION_DENIED, "ns/mesh-control/sa/weft-cp");
    assertThat(issuedTo(channel, ALICE)).endsWith("/ns/weft-system/sa/weft");
  }
}
