package dev.weft.distributor;

import static dev.weft.distributor.XdsTestbed.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.CredentialFiles;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.WorkloadAgent;
import dev.weft.demo.Greeter;
import dev.weft.registry.TestObjects;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.internal.JsonParser;
import io.grpc.xds.XdsChannelCredentials;
import io.grpc.xds.XdsNameResolverProvider;
import io.grpc.xds.XdsServerBuilder;
import io.grpc.xds.XdsServerCredentials;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS between a proxyless gRPC client and an xDS-enabled gRPC server, configured by Weft's
 * xDS (gRFC A29) and keyed by certificates a real Weft CA issued to real workload agents, which
 * wrote them to the files gRPC's {@code file_watcher} provider reads.
 */
class MutualTlsEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration DEADLINE = Duration.ofSeconds(10);
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  @TempDir Path dir;

  private final XdsTestbed mesh =
      new XdsTestbed(builder -> builder.mutualTls(MutualTls.strict("cluster.local")));
  private final Set<String> callers = ConcurrentHashMap.newKeySet();
  private TestCa testCa;
  private CertificateAuthority ca;

  @BeforeEach
  void startCa() throws Exception {
    testCa = new TestCa(dir, "demo/greeter", "demo/web", "demo/impostor");
    ca = testCa.authority();
  }

  @AfterEach
  void close() throws Exception {
    mesh.close();
    testCa.close();
  }

  @Test
  void clientAndServerTalkMutualTlsAndTheServerSeesTheClientsSpiffeId() throws Exception {
    Path server = credentials("demo/greeter", Duration.ofHours(1));
    Path client = credentials("demo/web", Duration.ofHours(1));
    int port = greeterWithXdsServer(server, "greeter");

    ManagedChannel channel = secureClient(client);

    assertThat(XdsTestbed.call(channel, DEADLINE)).isEqualTo("secure-greeter");
    assertThat(callers).containsExactly("spiffe://cluster.local/ns/demo/sa/web");
    assertThat(port).isPositive();
  }

  @Test
  void aClientWithACertificateFromAnotherCaFailsTheHandshake() throws Exception {
    Path server = credentials("demo/greeter", Duration.ofHours(1));
    greeterWithXdsServer(server, "greeter");
    CertificateAuthority other =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir.resolve("other")))
            .build();
    Path stranger = dir.resolve("stranger");
    CredentialFiles.write(
        stranger,
        other.issueOwn(new dev.weft.ca.WorkloadIdentity("demo", "web"), List.of()),
        java.time.Instant.now());

    assertThat(XdsTestbed.callOrStatus(secureClient(stranger), DEADLINE)).isEqualTo("UNAVAILABLE");
    assertThat(callers).isEmpty();
  }

  @Test
  void aServerWhoseSpiffeIdIsNotTheServicesFailsTheHandshake() throws Exception {
    Path impostor = credentials("demo/impostor", Duration.ofHours(1));
    greeterWithXdsServer(impostor, "greeter");
    Path client = credentials("demo/web", Duration.ofHours(1));

    assertThat(XdsTestbed.callOrStatus(secureClient(client), DEADLINE)).isEqualTo("UNAVAILABLE");
  }

  @Test
  void leafRotationUnderContinuousTrafficFailsNoCall() throws Exception {
    Path server = rotatingCredentials("demo/greeter", Duration.ofSeconds(4));
    Path client = rotatingCredentials("demo/web", Duration.ofSeconds(4));
    greeterWithXdsServer(server, "greeter");
    ManagedChannel channel = secureClient(client);
    X509Certificate first = leaf(client);

    int calls = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    // Until both sides have rotated twice, while calling without pause.
    while (rotations(client, first) < 2 && System.nanoTime() < deadline) {
      calls += callsWithFreshHandshakes(channel, 50);
    }
    assertThat(rotations(client, first)).isGreaterThanOrEqualTo(2);
    assertThat(calls).isGreaterThan(100);
  }

  @Test
  void rootRotationUnderContinuousTrafficFailsNoCall() throws Exception {
    Path server = rotatingCredentials("demo/greeter", Duration.ofSeconds(4));
    Path client = rotatingCredentials("demo/web", Duration.ofSeconds(4));
    greeterWithXdsServer(server, "greeter");
    ManagedChannel channel = secureClient(client);
    X509Certificate oldRoot = ca.trustBundle().get(0);
    callsWithFreshHandshakes(channel, 50);

    // The new root joins the bundle first; both workloads must hold it before it signs.
    ca.beginRootRotation();
    keepCallingUntil(channel, () -> bundle(server).size() == 2 && bundle(client).size() == 2);
    ca.switchSigningNow();
    keepCallingUntil(
        channel, () -> !signedBy(leaf(server), oldRoot) && !signedBy(leaf(client), oldRoot));

    assertThat(callsWithFreshHandshakes(channel, 50)).isEqualTo(50);
  }

  /** Calls (each must succeed), reconnecting every 10 calls so handshakes use the newest files. */
  private static int callsWithFreshHandshakes(ManagedChannel channel, int calls) {
    for (int i = 0; i < calls; i++) {
      if (i % 10 == 0) {
        channel.enterIdle();
      }
      assertThat(XdsTestbed.call(channel, DEADLINE)).isEqualTo("secure-greeter");
    }
    return calls;
  }

  private static void keepCallingUntil(ManagedChannel channel, BooleanSupplier done) {
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ZERO)
        .until(
            () -> {
              callsWithFreshHandshakes(channel, 10);
              return done.getAsBoolean();
            });
  }

  private static List<X509Certificate> bundle(Path credentials) {
    return CredentialFiles.read(credentials).orElseThrow().svid().trustBundle();
  }

  private static boolean signedBy(X509Certificate leaf, X509Certificate root) {
    try {
      leaf.verify(root.getPublicKey());
      return true;
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }

  private Path credentials(String account, Duration validity) throws Exception {
    return testCa.credentials(account, validity);
  }

  /** An agent that keeps renewing at half-life for the whole test. */
  private Path rotatingCredentials(String account, Duration validity) throws Exception {
    Path out = dir.resolve(account.replace('/', '-') + "-rotating");
    WorkloadAgent agent = testCa.agent(account, out, validity);
    mesh.closeLater(agent);
    agent.renewNow();
    agent.start();
    return out;
  }

  private static X509Certificate leaf(Path credentials) {
    return CredentialFiles.read(credentials).orElseThrow().svid().leaf();
  }

  private final Set<java.math.BigInteger> seenSerials = ConcurrentHashMap.newKeySet();

  private int rotations(Path credentials, X509Certificate first) {
    seenSerials.add(first.getSerialNumber());
    seenSerials.add(leaf(credentials).getSerialNumber());
    return seenSerials.size() - 1;
  }

  @SuppressWarnings("unchecked")
  private Map<String, ?> bootstrap(String serviceAccount, Path credentials) throws IOException {
    return (Map<String, ?>)
        JsonParser.parse(
            Bootstrap.json(
                "localhost:" + mesh.xdsPort(),
                new Bootstrap.Workload(NAMESPACE, serviceAccount, "", ""),
                Optional.of(TestCa.files(credentials))));
  }

  /**
   * Registers greeter with one endpoint run by {@code account}'s Pod, and starts an xDS-enabled
   * server there that presents {@code credentials} and records the SPIFFE ID of each caller.
   */
  private int greeterWithXdsServer(Path credentials, String account) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    mesh.source().upsert(TestObjects.service(NAMESPACE, "greeter", "http", 50051));
    mesh.source()
        .upsert(
            TestObjects.pod(
                NAMESPACE, TestObjects.podName("greeter", "127.0.0.1"), "greeter", "v1"));
    mesh.source().upsert(TestObjects.slice(NAMESPACE, "greeter-1", "greeter", port, "127.0.0.1"));
    mesh.source().markSynced();
    Server server =
        XdsServerBuilder.forPort(
                port, XdsServerCredentials.create(InsecureServerCredentials.create()))
            .addService(
                ServerInterceptors.intercept(
                    Greeter.service("secure-" + account), new CallerRecorder()))
            .overrideBootstrapForTest(bootstrap(account, credentials))
            .build()
            .start();
    mesh.closeLater(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return port;
  }

  private ManagedChannel secureClient(Path credentials) throws IOException {
    String scheme = "xds-mtls-" + SCHEMES.incrementAndGet();
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest(scheme, bootstrap("web", credentials));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    mesh.closeLater(() -> NameResolverRegistry.getDefaultRegistry().deregister(resolver));
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                scheme + ":///" + TARGET,
                XdsChannelCredentials.create(InsecureChannelCredentials.create()))
            .build();
    mesh.closeLater(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  /** Records the URI SAN of each caller's certificate, read from the TLS session. */
  private final class CallerRecorder implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      if (session != null) {
        try {
          X509Certificate peer = (X509Certificate) session.getPeerCertificates()[0];
          for (List<?> san : peer.getSubjectAlternativeNames()) {
            if (Integer.valueOf(6).equals(san.get(0))) {
              callers.add((String) san.get(1));
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException("no peer certificate on a mutual TLS call", e);
        }
      }
      return Contexts.interceptCall(io.grpc.Context.current(), call, headers, next);
    }
  }
}
