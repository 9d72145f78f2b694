package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's SDS server end to end: Envoy's own SDS stubs over the Unix socket, against a real
 * agent that gets its certificates from a real CA server. Every wait polls with a deadline; that
 * nothing was sent is shown by the next response the stream carries, since a stream is ordered.
 */
class SdsServerTest {

  static final String SPIFFE_ID = "spiffe://cluster.local/ns/shop/sa/a";
  static final Node NODE = Node.newBuilder().setId("sidecar~10.0.0.1~a-0.shop~shop").build();

  @TempDir Path dir;
  CertificateAuthority ca;
  CaServer caServer;
  ScheduledExecutorService scheduler;
  WorkloadAgent agent;
  Path socket;
  WorkloadAgent.SdsHandle sds;
  EventLoopGroup clientThreads;
  final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    String token = "sds-test-token-0123456789abcdef";
    Files.writeString(dir.resolve("tokens"), token + " shop a\n");
    Files.writeString(dir.resolve("token"), token + "\n");
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
    agent = agent(dir.resolve("certs"));
    socket = dir.resolve("sds").resolve("socket");
    clientThreads = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  }

  @AfterEach
  void tearDown() throws Exception {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (sds != null) {
      sds.close();
    }
    agent.close();
    caServer.close();
    scheduler.shutdownNow();
    clientThreads.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }

  WorkloadAgent agent(Path out) {
    return WorkloadAgent.builder()
        .target("localhost:" + caServer.port())
        .serverSpiffeId(caServer.spiffeId())
        .bootstrapTrustBundle(ca.trustBundle())
        .tokenFile(dir.resolve("token"))
        .outputDirectory(out)
        .scheduler(scheduler)
        .random(new Random(1))
        .build();
  }

  // ---- state of the world ----

  @Test
  void servesTheChainKeyAndBundleThatVerifyAgainstEachOther() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();
    StreamObserver<DiscoveryRequest> requests = stub().streamSecrets(responses);

    requests.onNext(request("", "", "default", "ROOTCA"));
    DiscoveryResponse response = responses.next();

    assertThat(response.getTypeUrl()).isEqualTo(SdsSecrets.TYPE_URL);
    assertThat(response.getVersionInfo()).isNotEmpty();
    assertThat(response.getNonce()).isNotEmpty();
    assertThat(names(response.getResourcesList())).containsExactly("default", "ROOTCA");
    Secret certificate = unpack(response.getResources(0));
    Secret roots = unpack(response.getResources(1));
    List<X509Certificate> chain =
        Pem.parseCertificates(
            certificate.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8());
    PrivateKey key =
        pkcs8(certificate.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8());
    List<X509Certificate> bundle =
        Pem.parseCertificates(
            roots.getValidationContext().getTrustedCa().getInlineBytes().toStringUtf8());

    PKIXParameters pkix =
        new PKIXParameters(
            bundle.stream().map(r -> new TrustAnchor(r, null)).collect(Collectors.toSet()));
    pkix.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), pkix);
    assertThat(chain.get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, SPIFFE_ID));
    byte[] message =
        "the key in the pod signs; the certificate verifies".getBytes(StandardCharsets.UTF_8);
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(key);
    signer.update(message);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("SHA256withECDSA");
    verifier.initVerify(chain.get(0).getPublicKey());
    verifier.update(message);
    assertThat(verifier.verify(signature)).isTrue();
    assertThat(chain.get(0)).isEqualTo(agent.current().orElseThrow().leaf());
  }

  @Test
  void aRenewalPushesTheNewCertificateOnTheOpenStream() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();
    StreamObserver<DiscoveryRequest> requests = stub().streamSecrets(responses);
    requests.onNext(request("", "", "default", "ROOTCA"));
    DiscoveryResponse first = responses.next();
    requests.onNext(request(first.getVersionInfo(), first.getNonce(), "default", "ROOTCA"));

    agent.renewNow();
    DiscoveryResponse second = responses.next();

    assertThat(names(second.getResourcesList()))
        .as("the trust bundle did not change, so only the certificate is sent")
        .containsExactly("default");
    assertThat(serial(second.getResources(0))).isNotEqualTo(serial(first.getResources(0)));
    assertThat(serial(second.getResources(0)))
        .isEqualTo(agent.current().orElseThrow().leaf().getSerialNumber());
    assertThat(second.getVersionInfo()).isNotEqualTo(first.getVersionInfo());
    assertThat(second.getNonce()).isNotEqualTo(first.getNonce());
  }

  @Test
  void anAckIsNotAnswered() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();
    StreamObserver<DiscoveryRequest> requests = stub().streamSecrets(responses);
    requests.onNext(request("", "", "default"));
    DiscoveryResponse first = responses.next();

    requests.onNext(request(first.getVersionInfo(), first.getNonce(), "default"));
    requests.onNext(request(first.getVersionInfo(), first.getNonce(), "default", "ROOTCA"));

    // Had the ACK been answered, that answer would come first and carry "default".
    assertThat(names(responses.next().getResourcesList())).containsExactly("ROOTCA");
  }

  @Test
  void aNackIsNotAnsweredWithTheRejectedSecretAndTheNextRenewalIsSent() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();
    StreamObserver<DiscoveryRequest> requests = stub().streamSecrets(responses);
    requests.onNext(request("", "", "default"));
    DiscoveryResponse first = responses.next();

    requests.onNext(
        request("", first.getNonce(), "default").toBuilder()
            .setErrorDetail(
                com.google.rpc.Status.newBuilder()
                    .setCode(Status.Code.INVALID_ARGUMENT.value())
                    .setMessage("Failed to load certificate chain"))
            .build());
    requests.onNext(request("", first.getNonce(), "default", "ROOTCA"));
    DiscoveryResponse second = responses.next();
    requests.onNext(request(second.getVersionInfo(), second.getNonce(), "default", "ROOTCA"));
    agent.renewNow();
    DiscoveryResponse third = responses.next();

    assertThat(names(second.getResourcesList())).containsExactly("ROOTCA");
    assertThat(names(third.getResourcesList())).containsExactly("default");
    assertThat(serial(third.getResources(0))).isNotEqualTo(serial(first.getResources(0)));
    assertThat(responses.closed).isNotDone();
  }

  @Test
  void requestsWaitForTheFirstCertificateAndNeverGetAnEmptyOne() throws Exception {
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> sotw = new Stream<>();
    stub().streamSecrets(sotw).onNext(request("", "", "default"));
    Stream<DeltaDiscoveryResponse> delta = new Stream<>();
    StreamObserver<DeltaDiscoveryRequest> deltaRequests = stub().deltaSecrets(delta);
    deltaRequests.onNext(subscribe("default", "nope"));
    Stream<DiscoveryResponse> fetch = new Stream<>();
    stub().fetchSecrets(request("", "", "default"), fetch);

    // Answered at once for the name that does not exist, and only for it: "default" waits.
    DeltaDiscoveryResponse notFound = delta.next();
    assertThat(notFound.getRemovedResourcesList()).containsExactly("nope");
    assertThat(notFound.getResourcesList()).isEmpty();
    assertThat(sotw.messages).isEmpty();
    assertThat(fetch.messages).isEmpty();

    BigInteger issued = agent.renewNow().leaf().getSerialNumber();

    assertThat(serial(sotw.next().getResources(0))).isEqualTo(issued);
    assertThat(delta.next().getResources(0).getName()).isEqualTo("default");
    assertThat(serial(fetch.next().getResources(0))).isEqualTo(issued);
    assertThat(fetch.closed.get(10, TimeUnit.SECONDS).isOk()).isTrue();
  }

  @Test
  void anExpiredCertificateOnDiskIsNotServed() throws Exception {
    // The CA two hours back: the one-hour certificate in the files expired an hour ago.
    CertificateAuthority past =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("ca")))
            .clock(Clock.offset(Clock.systemUTC(), Duration.ofHours(-2)))
            .build();
    Path out = dir.resolve("expired");
    CredentialFiles.write(
        out, past.issueOwn(new WorkloadIdentity("shop", "a"), List.of()), Instant.now());
    try (WorkloadAgent restarted = agent(out);
        WorkloadAgent.SdsHandle served = restarted.startSdsServer(socket)) {
      assertThat(restarted.current()).isPresent();
      assertThat(served.socket()).isEqualTo(socket.toAbsolutePath());
      Stream<DeltaDiscoveryResponse> delta = new Stream<>();
      StreamObserver<DeltaDiscoveryRequest> requests = stub().deltaSecrets(delta);

      requests.onNext(subscribe("default", "nope"));

      assertThat(delta.next().getResourcesList()).isEmpty();
      Svid renewed = restarted.renewNow();
      Resource sent = delta.next().getResources(0);
      assertThat(certificate(sent.getResource())).isEqualTo(renewed.leaf());
      assertThat(renewed.notAfter()).isAfter(Instant.now());
    }
  }

  @Test
  void namesItDoesNotServeLeaveTheStreamWorking() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();
    StreamObserver<DiscoveryRequest> requests = stub().streamSecrets(responses);

    requests.onNext(request("", "", "spiffe://cluster.local/ns/shop/sa/b"));
    requests.onNext(request("", "", "*"));
    requests.onNext(request("", "", "spiffe://cluster.local/ns/shop/sa/b", "default"));

    DiscoveryResponse response = responses.next();
    assertThat(names(response.getResourcesList())).containsExactly("default");
    assertThat(responses.closed).isNotDone();
  }

  @Test
  void aWrongTypeEndsTheStreamWithInvalidArgument() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DiscoveryResponse> responses = new Stream<>();

    stub()
        .streamSecrets(responses)
        .onNext(
            request("", "", "default").toBuilder()
                .setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster")
                .build());

    Status status = responses.closed.get(10, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("envoy.config.cluster.v3.Cluster");
  }

  // ---- delta ----

  @Test
  void deltaSubscribeAndUnsubscribe() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DeltaDiscoveryResponse> responses = new Stream<>();
    StreamObserver<DeltaDiscoveryRequest> requests = stub().deltaSecrets(responses);

    requests.onNext(subscribe("default"));
    DeltaDiscoveryResponse first = responses.next();
    requests.onNext(ack(first));
    requests.onNext(subscribe("ROOTCA"));
    DeltaDiscoveryResponse second = responses.next();
    requests.onNext(ack(second));
    requests.onNext(
        DeltaDiscoveryRequest.newBuilder()
            .addResourceNamesUnsubscribe("default")
            .addResourceNamesSubscribe("nope")
            .build());
    DeltaDiscoveryResponse third = responses.next();
    agent.renewNow(); // a new "default", which the stream no longer wants
    requests.onNext(subscribe("nope-again"));
    DeltaDiscoveryResponse fourth = responses.next();
    requests.onNext(subscribe("default"));
    DeltaDiscoveryResponse fifth = responses.next();

    assertThat(first.getTypeUrl()).isEqualTo(SdsSecrets.TYPE_URL);
    assertThat(first.getNonce()).isNotEmpty();
    assertThat(names(first)).containsExactly("default");
    assertThat(first.getResources(0).getVersion()).isNotEmpty();
    assertThat(names(second)).as("only the new subscription").containsExactly("ROOTCA");
    assertThat(names(third)).isEmpty();
    assertThat(third.getRemovedResourcesList()).containsExactly("nope");
    assertThat(names(fourth)).as("no push for an unsubscribed secret").isEmpty();
    assertThat(fourth.getRemovedResourcesList()).containsExactly("nope-again");
    assertThat(names(fifth)).containsExactly("default");
    assertThat(serial(fifth.getResources(0).getResource()))
        .isNotEqualTo(serial(first.getResources(0).getResource()))
        .isEqualTo(agent.current().orElseThrow().leaf().getSerialNumber());
  }

  @Test
  void deltaRenewalPushesOnlyTheChangedSecret() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DeltaDiscoveryResponse> responses = new Stream<>();
    StreamObserver<DeltaDiscoveryRequest> requests = stub().deltaSecrets(responses);
    requests.onNext(subscribe("default", "ROOTCA"));
    DeltaDiscoveryResponse first = responses.next();
    requests.onNext(ack(first));

    agent.renewNow();
    DeltaDiscoveryResponse second = responses.next();

    assertThat(names(first)).containsExactly("default", "ROOTCA");
    assertThat(names(second)).containsExactly("default");
    assertThat(second.getResources(0).getVersion())
        .isNotEqualTo(first.getResources(0).getVersion());
    assertThat(second.getSystemVersionInfo()).isNotEqualTo(first.getSystemVersionInfo());
  }

  @Test
  void deltaDoesNotResendWhatTheClientSaysItHolds() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);
    Stream<DeltaDiscoveryResponse> before = new Stream<>();
    stub().deltaSecrets(before).onNext(subscribe("default", "ROOTCA"));
    DeltaDiscoveryResponse held = before.next();

    Stream<DeltaDiscoveryResponse> reconnected = new Stream<>();
    stub()
        .deltaSecrets(reconnected)
        .onNext(
            subscribe("default", "ROOTCA").toBuilder()
                .putInitialResourceVersions("default", held.getResources(0).getVersion())
                .putInitialResourceVersions("ROOTCA", "an older bundle")
                .build());

    assertThat(names(reconnected.next())).containsExactly("ROOTCA");
  }

  // ---- fetch ----

  @Test
  void fetchAnswersTheNamedSecretsAndALongPollWaitsForTheNextVersion() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);

    DiscoveryResponse now =
        SecretDiscoveryServiceGrpc.newBlockingStub(channel())
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .fetchSecrets(request("", "", "ROOTCA", "nope", "default"));
    Stream<DiscoveryResponse> poll = new Stream<>();
    stub().fetchSecrets(request(now.getVersionInfo(), "", "default"), poll);
    assertThat(poll.messages).isEmpty();
    agent.renewNow();

    assertThat(names(now.getResourcesList())).containsExactly("default", "ROOTCA");
    DiscoveryResponse next = poll.next();
    assertThat(next.getVersionInfo()).isNotEqualTo(now.getVersionInfo());
    assertThat(serial(next.getResources(0))).isNotEqualTo(serial(now.getResources(0)));
  }

  // ---- the socket ----

  @Test
  void theSocketIsOwnerAndGroupOnlyAndClosingRemovesIt() throws Exception {
    agent.renewNow();
    sds = agent.startSdsServer(socket);

    assertThat(sds.socket()).isEqualTo(socket.toAbsolutePath());
    assertThat(SdsServer.isSocket(socket)).isTrue();
    assertThat(Files.getPosixFilePermissions(socket))
        .isEqualTo(PosixFilePermissions.fromString("rw-rw----"));
    assertThat(fetchDefault().getResourcesCount()).isEqualTo(1);

    sds.close();

    assertThat(socket).doesNotExist();
  }

  @Test
  void aStaleSocketIsReplacedAndAnyOtherFileIsLeftAlone() throws Exception {
    agent.renewNow();
    Files.createDirectories(socket.getParent());
    // The JDK, unlike Netty, leaves the file behind when it closes: as a killed agent would.
    try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      stale.bind(UnixDomainSocketAddress.of(socket));
    }
    assertThat(SdsServer.isSocket(socket)).isTrue();

    sds = agent.startSdsServer(socket);
    assertThat(fetchDefault().getResourcesCount()).isEqualTo(1);
    sds.close();

    Files.writeString(socket, "not a socket");
    assertThatThrownBy(() -> agent.startSdsServer(socket))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is not a socket");
    assertThat(Files.readString(socket)).isEqualTo("not a socket");
  }

  @Test
  void tooManyStreamsAndAnOversizedRequestAreRefused() throws Exception {
    agent.renewNow();
    sds = SdsServer.start(socket, new SdsServer.Limits(4096, 16, 1), agent::watch);
    Stream<DiscoveryResponse> first = new Stream<>();
    stub().streamSecrets(first).onNext(request("", "", "default"));
    first.next();

    Stream<DiscoveryResponse> second = new Stream<>();
    stub().streamSecrets(second).onNext(request("", "", "default"));
    // A fetch's handler runs once its request is read, so the size is checked before the count.
    Stream<DiscoveryResponse> oversized = new Stream<>();
    stub().fetchSecrets(request("", "", "default", "x".repeat(8192)), oversized);

    Status refused = second.closed.get(10, TimeUnit.SECONDS);
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).contains("at most 1 SDS streams");
    Status tooLarge = oversized.closed.get(10, TimeUnit.SECONDS);
    assertThat(tooLarge.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(tooLarge.getDescription()).contains("4096");
    assertThat(first.closed).isNotDone();
  }

  // ---- helpers ----

  ManagedChannel channel() {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(
                new DomainSocketAddress(socket.toString()), InsecureChannelCredentials.create())
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(clientThreads)
            .overrideAuthority("localhost")
            .withOption(ChannelOption.SO_KEEPALIVE, null) // TCP only: unset, or Netty warns
            .build();
    channels.add(channel);
    return channel;
  }

  SecretDiscoveryServiceGrpc.SecretDiscoveryServiceStub stub() {
    return SecretDiscoveryServiceGrpc.newStub(channel());
  }

  DiscoveryResponse fetchDefault() {
    return SecretDiscoveryServiceGrpc.newBlockingStub(channel())
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchSecrets(request("", "", "default"));
  }

  static DiscoveryRequest request(String version, String nonce, String... names) {
    return DiscoveryRequest.newBuilder()
        .setNode(NODE)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of(names))
        .setTypeUrl(SdsSecrets.TYPE_URL)
        .build();
  }

  static DeltaDiscoveryRequest subscribe(String... names) {
    return DeltaDiscoveryRequest.newBuilder()
        .setNode(NODE)
        .setTypeUrl(SdsSecrets.TYPE_URL)
        .addAllResourceNamesSubscribe(List.of(names))
        .build();
  }

  static DeltaDiscoveryRequest ack(DeltaDiscoveryResponse response) {
    return DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(SdsSecrets.TYPE_URL)
        .setResponseNonce(response.getNonce())
        .build();
  }

  /** A PKCS#8 PEM key read by the JDK alone, as Envoy (BoringSSL) reads it without Weft's code. */
  static PrivateKey pkcs8(String pem) throws Exception {
    assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n");
    String base64 =
        pem.replace("-----BEGIN PRIVATE KEY-----", "")
            .replace("-----END PRIVATE KEY-----", "")
            .replaceAll("\\s", "");
    return KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
  }

  static Secret unpack(Any any) throws InvalidProtocolBufferException {
    return any.unpack(Secret.class);
  }

  static List<String> names(List<Any> resources) throws InvalidProtocolBufferException {
    List<String> names = new ArrayList<>();
    for (Any any : resources) {
      names.add(unpack(any).getName());
    }
    return names;
  }

  static List<String> names(DeltaDiscoveryResponse response) throws Exception {
    List<String> names = new ArrayList<>();
    for (Resource resource : response.getResourcesList()) {
      assertThat(unpack(resource.getResource()).getName()).isEqualTo(resource.getName());
      names.add(resource.getName());
    }
    return names;
  }

  static X509Certificate certificate(Any secret) throws InvalidProtocolBufferException {
    return Pem.parseCertificates(
            unpack(secret)
                .getTlsCertificate()
                .getCertificateChain()
                .getInlineBytes()
                .toStringUtf8())
        .get(0);
  }

  static BigInteger serial(Any secret) throws InvalidProtocolBufferException {
    return certificate(secret).getSerialNumber();
  }

  /** A client stream's responses and end, as they arrive. */
  static final class Stream<T> implements StreamObserver<T> {
    final BlockingQueue<T> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();

    /** The next response, within ten seconds. */
    T next() throws InterruptedException {
      T message = messages.poll(10, TimeUnit.SECONDS);
      assertThat(message).as("a response within 10 s (stream ended: %s)", closed).isNotNull();
      return message;
    }

    @Override
    public void onNext(T value) {
      messages.add(value);
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }
  }
}
