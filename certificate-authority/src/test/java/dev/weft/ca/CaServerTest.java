package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CSR service over TLS: each refusal with its status and message, and nothing issued. */
class CaServerTest {

  static final String ALICE_TOKEN = "tok-alice-0123456789abcdefghij";

  @TempDir Path dir;
  CertificateAuthority ca;
  CaServer server;
  final List<ManagedChannel> channels = new ArrayList<>();
  final List<RefusalReason> refusals = new CopyOnWriteArrayList<>();
  final List<WorkloadIdentity> issued = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    CaMetrics metrics =
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
            .maxLifetime(Duration.ofHours(2))
            .metrics(metrics)
            .build();
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, "# token namespace serviceAccount\n" + ALICE_TOKEN + " shop alice\n");
    server =
        CaServer.builder(ca)
            .port(0)
            .metrics(metrics)
            .authenticator(
                Authenticator.firstOf(
                    List.of(
                        Authenticator.currentSvid(ca, Clock.systemUTC()),
                        Authenticator.bootstrapTokens(tokens))))
            .start();
    issued.clear();
  }

  @AfterEach
  void tearDown() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    server.close();
  }

  ManagedChannel channel(SvidWithKey clientCertificate) {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "localhost:" + server.port(),
                TlsChannelCredentials.newBuilder()
                    .keyManager(new SvidKeyManager(() -> clientCertificate))
                    .trustManager(
                        new SpiffeTrust(
                            ca::trustBundle, Clock.systemUTC(), server.spiffeId()::equals))
                    .build())
            .build();
    channels.add(channel);
    return channel;
  }

  CertificateResponse call(Channel channel, String token, CertificateRequest request) {
    Channel target = channel;
    if (token != null) {
      Metadata headers = new Metadata();
      headers.put(CallerContext.AUTHORIZATION, "Bearer " + token);
      target =
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return ClientCalls.blockingUnaryCall(
        target,
        CertificateServiceGrpc.getCreateCertificateMethod(),
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
        request);
  }

  static CertificateRequest der(byte[] csr) {
    return CertificateRequest.newBuilder().setCsrDer(ByteString.copyFrom(csr)).build();
  }

  void assertRefused(String token, CertificateRequest request, Status.Code code, String... words) {
    assertThatThrownBy(() -> call(channel(null), token, request))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(words);
            });
    assertThat(issued).isEmpty();
    assertThat(refusals).hasSize(1);
  }

  @Test
  void issuesTheCallersIdentityWithChainAndBundle() throws Exception {
    CertificateResponse response =
        call(channel(null), ALICE_TOKEN, der(TestCsrs.plain(TestCsrs.ec("secp256r1"))));

    var leaf = Pem.parseCertificates(response.getCertChainPem(0)).get(0);
    assertThat(SvidAuthenticator.spiffeId(leaf))
        .contains("spiffe://cluster.local/ns/shop/sa/alice");
    assertThat(response.getTrustBundlePemList()).hasSize(1);
    assertThat(issued).containsExactly(new WorkloadIdentity("shop", "alice"));
  }

  @Test
  void acceptsAPemCsr() throws Exception {
    String pem = Pem.block("CERTIFICATE REQUEST", TestCsrs.plain(TestCsrs.ec("secp256r1")));

    CertificateResponse response =
        call(channel(null), ALICE_TOKEN, CertificateRequest.newBuilder().setCsrPem(pem).build());

    assertThat(response.getCertChainPemCount()).isEqualTo(1);
  }

  @Test
  void renewsWithTheCurrentSvidOverMutualTls() throws Exception {
    SvidWithKey current = ca.issueOwn(new WorkloadIdentity("shop", "carol"), List.of());

    CertificateResponse response =
        call(channel(current), null, der(TestCsrs.plain(TestCsrs.ec("secp256r1"))));

    var leaf = Pem.parseCertificates(response.getCertChainPem(0)).get(0);
    assertThat(SvidAuthenticator.spiffeId(leaf))
        .contains("spiffe://cluster.local/ns/shop/sa/carol");
  }

  @Test
  void afterARootRotationAnOldRootSvidRenewsIntoTheNewRootWithoutRestart() throws Exception {
    SvidWithKey oldRootSvid = ca.issueOwn(new WorkloadIdentity("shop", "carol"), List.of());
    var oldRoot = ca.trustBundle().get(0);
    ca.beginRootRotation();
    ca.switchSigningNow();
    var newRoot = ca.trustBundle().get(1);

    CertificateResponse response =
        call(channel(oldRootSvid), null, der(TestCsrs.plain(TestCsrs.ec("secp256r1"))));

    var leaf = Pem.parseCertificates(response.getCertChainPem(0)).get(0);
    leaf.verify(newRoot.getPublicKey());
    assertThat(response.getTrustBundlePemList())
        .containsExactly(Pem.certificate(oldRoot), Pem.certificate(newRoot));
  }

  @Test
  void refusesACallerWithoutCredential() throws Exception {
    assertRefused(
        null,
        der(TestCsrs.plain(TestCsrs.ec("secp256r1"))),
        Status.Code.UNAUTHENTICATED,
        "no credential");
    assertThat(refusals).containsExactly(RefusalReason.NO_CREDENTIAL);
  }

  @Test
  void refusesAnUnknownToken() throws Exception {
    assertRefused(
        "tok-mallory-0123456789abcdef",
        der(TestCsrs.plain(TestCsrs.ec("secp256r1"))),
        Status.Code.UNAUTHENTICATED,
        "token",
        "not a known bootstrap token");
  }

  @Test
  void refusesATokenForAliceAskingForBob() throws Exception {
    assertRefused(
        ALICE_TOKEN,
        der(TestCsrs.withUriSan(TestCsrs.ec("secp256r1"), "spiffe://cluster.local/ns/shop/sa/bob")),
        Status.Code.PERMISSION_DENIED,
        "csr.subjectAltName",
        "sa/bob");
  }

  @Test
  void refusesABadSignature() throws Exception {
    assertRefused(
        ALICE_TOKEN,
        der(TestCsrs.badSignature(TestCsrs.ec("secp256r1"))),
        Status.Code.INVALID_ARGUMENT,
        "csr.signature");
  }

  @Test
  void refusesGarbage() {
    assertRefused(
        ALICE_TOKEN, der(new byte[] {1, 2, 3}), Status.Code.INVALID_ARGUMENT, "csr:", "PKCS#10");
  }

  @Test
  void refusesAMissingCsr() {
    assertRefused(
        ALICE_TOKEN, CertificateRequest.getDefaultInstance(), Status.Code.INVALID_ARGUMENT, "csr:");
  }

  @Test
  void refusesAWeakRsaKey() throws Exception {
    assertRefused(
        ALICE_TOKEN,
        der(TestCsrs.plain(TestCsrs.rsa(1024))),
        Status.Code.INVALID_ARGUMENT,
        "csr.publicKey",
        "1024");
  }

  @Test
  void refusesAnUnsupportedCurve() throws Exception {
    assertRefused(
        ALICE_TOKEN,
        der(TestCsrs.plain(TestCsrs.ec("secp521r1"))),
        Status.Code.INVALID_ARGUMENT,
        "csr.publicKey");
  }

  @Test
  void refusesALifetimeOverTheMaximum() throws Exception {
    CertificateRequest request =
        der(TestCsrs.plain(TestCsrs.ec("secp256r1"))).toBuilder()
            .setValidity(com.google.protobuf.Duration.newBuilder().setSeconds(3 * 3600))
            .build();

    assertRefused(ALICE_TOKEN, request, Status.Code.INVALID_ARGUMENT, "validity", "maximum");
  }

  @Test
  void aClientOfAnotherCaCannotConnect() throws Exception {
    CertificateAuthority other =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("other")))
            .build();
    SvidWithKey foreign = other.issueOwn(new WorkloadIdentity("shop", "alice"), List.of());

    assertThatThrownBy(
            () ->
                call(channel(foreign), ALICE_TOKEN, der(TestCsrs.plain(TestCsrs.ec("secp256r1")))))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(issued).isEmpty();
  }
}
