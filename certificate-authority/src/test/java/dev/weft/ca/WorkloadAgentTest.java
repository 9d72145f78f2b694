package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.ClientCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent end to end against a real CA server, and real JDK TLS between two workloads that use
 * only the files it wrote: the server sees the client's SPIFFE ID; a client of another CA and an
 * expired client certificate fail the handshake.
 */
class WorkloadAgentTest {

  @TempDir Path dir;
  CertificateAuthority ca;
  CaServer caServer;
  ScheduledExecutorService scheduler;
  Server workloadServer;
  ManagedChannel workloadChannel;
  final AtomicReference<String> seenPeer = new AtomicReference<>();

  /** Makes a short test name a token of 128 bits or more, as the CA requires. */
  static final String PADDING = "-0123456789abcdefghij";

  @BeforeEach
  void setUp() throws Exception {
    ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    Files.writeString(
        dir.resolve("tokens"), "tok-a" + PADDING + " shop a\ntok-b" + PADDING + " shop b\n");
    caServer =
        CaServer.builder(ca)
            .port(0)
            .authenticator(
                Authenticator.firstOf(
                    List.of(
                        Authenticator.currentSvid(ca, Clock.systemUTC()),
                        Authenticator.bootstrapTokens(dir.resolve("tokens")))))
            .start();
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (workloadChannel != null) {
      workloadChannel.shutdownNow();
    }
    if (workloadServer != null) {
      workloadServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    caServer.close();
    scheduler.shutdownNow();
  }

  WorkloadAgent agent(String token, Path out) throws Exception {
    Path tokenFile = dir.resolve(token + ".token");
    Files.writeString(tokenFile, token + PADDING + "\n");
    return WorkloadAgent.builder()
        .target("localhost:" + caServer.port())
        .serverSpiffeId(caServer.spiffeId())
        .bootstrapTrustBundle(ca.trustBundle())
        .tokenFile(tokenFile)
        .outputDirectory(out)
        .scheduler(scheduler)
        .random(new Random(1))
        .build();
  }

  @Test
  void writesChainKeyAndBundleAtomicallyWithAnOwnerOnlyKey() throws Exception {
    Path out = dir.resolve("a");
    try (WorkloadAgent agent = agent("tok-a", out)) {
      assertThat(agent.renewNow().spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/a");
    }
    SvidWithKey written = CredentialFiles.read(out).orElseThrow();
    assertThat(written.svid().spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/a");
    assertThat(Files.isSymbolicLink(out.resolve(CredentialFiles.CERTIFICATE_FILE))).isTrue();
    assertThat(Files.getPosixFilePermissions(out.resolve(CredentialFiles.PRIVATE_KEY_FILE)))
        .isEqualTo(DirectoryStore.OWNER_ONLY);
  }

  @Test
  void aSecondRenewalReplacesTheFilesAndRemovesTheOldGeneration() throws Exception {
    Path out = dir.resolve("a");
    try (WorkloadAgent agent = agent("tok-a", out)) {
      Svid first = agent.renewNow();
      Svid second = agent.renewNow();

      assertThat(second.leaf().getSerialNumber()).isNotEqualTo(first.leaf().getSerialNumber());
      assertThat(CredentialFiles.read(out).orElseThrow().svid().leaf()).isEqualTo(second.leaf());
      try (var entries = Files.list(out)) {
        assertThat(entries.filter(p -> p.getFileName().toString().startsWith("..2")).count())
            .isEqualTo(1);
      }
    }
  }

  @Test
  void renewsWithItsCurrentSvidOnceTheTokenIsGone() throws Exception {
    Path out = dir.resolve("a");
    try (WorkloadAgent agent = agent("tok-a", out)) {
      agent.renewNow();
    }
    Files.delete(dir.resolve("tok-a.token"));
    try (WorkloadAgent restarted = agent("tok-gone", out)) {
      Svid renewed = restarted.renewNow();
      assertThat(renewed.spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/a");
    }
  }

  @Test
  void aFailedRenewalKeepsTheCurrentFiles() throws Exception {
    Path out = dir.resolve("a");
    try (WorkloadAgent agent = agent("tok-a", out)) {
      Svid first = agent.renewNow();
      caServer.close();

      assertThatThrownBy(agent::renewNow).isInstanceOf(StatusRuntimeException.class);
      assertThat(CredentialFiles.read(out).orElseThrow().svid().leaf()).isEqualTo(first.leaf());
    }
    caServer = CaServer.builder(ca).port(0).authenticator(c -> AuthResult.notPresented()).start();
  }

  @Test
  void startIssuesAtOnceOnItsScheduler() throws Exception {
    Path out = dir.resolve("a");
    try (WorkloadAgent agent = agent("tok-a", out)) {
      agent.start();

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (agent.current().isEmpty() && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertThat(agent.current()).isPresent();
      assertThat(CredentialFiles.read(out)).isPresent();
    }
  }

  @Test
  void renewalIsAtHalfLifeWithJitterAndBackoffDoubles() throws Exception {
    SvidWithKey svid = ca.issueOwn(new WorkloadIdentity("shop", "a"), List.of());
    Instant issued = svid.svid().notBefore().plus(LeafSigner.BACKDATE);

    assertThat(RenewalPolicy.untilRenewal(svid.svid(), issued, 0))
        .isEqualTo(Duration.ofMinutes(30));
    assertThat(RenewalPolicy.untilRenewal(svid.svid(), issued, 1))
        .isEqualTo(Duration.ofMinutes(24));
    assertThat(RenewalPolicy.untilRenewal(svid.svid(), issued.plus(Duration.ofHours(1)), 0))
        .isZero();
    assertThat(RenewalPolicy.backoff(1, 0.5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(RenewalPolicy.backoff(3, 0.5)).isEqualTo(Duration.ofSeconds(4));
    assertThat(RenewalPolicy.backoff(30, 0.5)).isEqualTo(RenewalPolicy.MAX_BACKOFF);
  }

  // ---- real TLS between two workloads, from the agent's files only ----

  void startWorkloadServer(Path files) throws Exception {
    TlsServerCredentials.Builder credentials =
        TlsServerCredentials.newBuilder()
            .keyManager(
                files.resolve(CredentialFiles.CERTIFICATE_FILE).toFile(),
                files.resolve(CredentialFiles.PRIVATE_KEY_FILE).toFile())
            .trustManager(files.resolve(CredentialFiles.CA_CERTIFICATE_FILE).toFile())
            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    ServerInterceptor peerRecorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            try {
              var leaf =
                  (java.security.cert.X509Certificate)
                      call.getAttributes()
                          .get(Grpc.TRANSPORT_ATTR_SSL_SESSION)
                          .getPeerCertificates()[0];
              seenPeer.set(SvidAuthenticator.spiffeId(leaf).orElse(null));
            } catch (SSLPeerUnverifiedException e) {
              seenPeer.set(null);
            }
            return next.startCall(call, headers);
          }
        };
    workloadServer =
        Grpc.newServerBuilderForPort(0, credentials.build())
            .addService(
                ServerInterceptors.intercept(
                    // Any service will do: the test is about the handshake and the peer.
                    CertificateServiceGrpc.bindService(
                        (request, response) -> {
                          response.onNext(
                              CertificateResponse.newBuilder().addCertChainPem("ok").build());
                          response.onCompleted();
                        }),
                    peerRecorder))
            .build()
            .start();
  }

  CertificateResponse callFrom(SvidWithKey client, String expectedServerId) {
    workloadChannel =
        Grpc.newChannelBuilder(
                "localhost:" + workloadServer.getPort(),
                TlsChannelCredentials.newBuilder()
                    .keyManager(new SvidKeyManager(() -> client))
                    .trustManager(
                        new SpiffeTrust(
                            client.svid()::trustBundle,
                            Clock.systemUTC(),
                            expectedServerId::equals))
                    .build())
            .build();
    return ClientCalls.blockingUnaryCall(
        workloadChannel,
        CertificateServiceGrpc.getCreateCertificateMethod(),
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
        CertificateRequest.getDefaultInstance());
  }

  @Test
  void twoWorkloadsTalkMutualTlsAndTheServerSeesTheClientsSpiffeId() throws Exception {
    try (WorkloadAgent a = agent("tok-a", dir.resolve("a"));
        WorkloadAgent b = agent("tok-b", dir.resolve("b"))) {
      a.renewNow();
      b.renewNow();
    }
    startWorkloadServer(dir.resolve("a"));
    SvidWithKey client = CredentialFiles.read(dir.resolve("b")).orElseThrow();

    assertThat(callFrom(client, "spiffe://cluster.local/ns/shop/sa/a").getCertChainPem(0))
        .isEqualTo("ok");
    assertThat(seenPeer.get()).isEqualTo("spiffe://cluster.local/ns/shop/sa/b");
  }

  @Test
  void aServerWithAnotherSpiffeIdThanExpectedFails() throws Exception {
    try (WorkloadAgent a = agent("tok-a", dir.resolve("a"))) {
      a.renewNow();
    }
    startWorkloadServer(dir.resolve("a"));
    SvidWithKey client = ca.issueOwn(new WorkloadIdentity("shop", "b"), List.of());

    assertThatThrownBy(() -> callFrom(client, "spiffe://cluster.local/ns/shop/sa/payments"))
        .isInstanceOf(StatusRuntimeException.class);
  }

  @Test
  void aClientOfAnotherCaFailsTheHandshake() throws Exception {
    try (WorkloadAgent a = agent("tok-a", dir.resolve("a"))) {
      a.renewNow();
    }
    startWorkloadServer(dir.resolve("a"));
    CertificateAuthority other =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("other")))
            .build();
    SvidWithKey foreign = other.issueOwn(new WorkloadIdentity("shop", "b"), List.of());
    SvidWithKey foreignTrustingUs =
        new SvidWithKey(
            new Svid(foreign.svid().spiffeId(), foreign.svid().chain(), ca.trustBundle()),
            foreign.privateKey());

    assertThatThrownBy(() -> callFrom(foreignTrustingUs, "spiffe://cluster.local/ns/shop/sa/a"))
        .isInstanceOf(StatusRuntimeException.class);
    assertThat(seenPeer.get()).isNull();
  }

  @Test
  void anExpiredClientCertificateFailsTheHandshake() throws Exception {
    try (WorkloadAgent a = agent("tok-a", dir.resolve("a"))) {
      a.renewNow();
    }
    startWorkloadServer(dir.resolve("a"));
    // The same root, but a CA clock two hours back: its one-hour leaf expired an hour ago.
    CertificateAuthority past =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("ca")))
            .clock(Clock.offset(Clock.systemUTC(), Duration.ofHours(-2)))
            .build();
    SvidWithKey expired = past.issueOwn(new WorkloadIdentity("shop", "b"), List.of());
    assertThat(expired.svid().notAfter()).isBefore(Instant.now());

    assertThatThrownBy(() -> callFrom(expired, "spiffe://cluster.local/ns/shop/sa/a"))
        .isInstanceOf(StatusRuntimeException.class);
    assertThat(seenPeer.get()).isNull();
  }
}
