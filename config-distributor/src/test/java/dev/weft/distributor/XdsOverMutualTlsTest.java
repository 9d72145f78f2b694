package dev.weft.distributor;

import static dev.weft.distributor.XdsTestbed.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.ca.CredentialFiles;
import dev.weft.ca.WorkloadAgent;
import dev.weft.ca.XdsProxy;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.internal.JsonParser;
import io.grpc.stub.StreamObserver;
import io.grpc.xds.XdsNameResolverProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xDS over mutual TLS on the CA's port, as in a cluster: a proxyless gRPC client gets its config
 * through its workload agent's local proxy, authenticated by the SVID the agent holds; a proxy
 * without a certificate, or whose node claims another identity than its certificate's, is refused.
 */
class XdsOverMutualTlsTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";

  @TempDir Path dir;

  private final XdsTestbed mesh = new XdsTestbed();
  private TestCa ca;

  @BeforeEach
  void start() throws Exception {
    ca =
        new TestCa(
            dir,
            mesh.distributor.authenticatedServices(),
            mesh.distributor.messageSizeRefusals(),
            "demo/web");
    mesh.greeter(50051, mesh.startBackend("greeter"));
    mesh.source().markSynced();
  }

  @AfterEach
  void stop() {
    mesh.close();
    ca.close();
  }

  @Test
  void aProxylessClientGetsItsConfigThroughItsAgentsProxyAndIsWhoItsCertificateSays()
      throws Exception {
    try (WorkloadAgent agent = ca.agent("demo/web", dir.resolve("web"), Duration.ofHours(1));
        XdsProxy proxy = startAgent(agent)) {
      ManagedChannel channel = clientThrough(proxy);

      assertThat(XdsTestbed.call(channel, Duration.ofSeconds(10))).isEqualTo("greeter");

      ProxyStatus status = mesh.distributor.proxies().get(0);
      assertThat(status.namespace()).isEqualTo("demo");
      assertThat(status.serviceAccount()).isEqualTo("web");
    }
  }

  @Test
  void aNodeClaimingAnotherNamespaceThanItsCertificatesIsRefused() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));

    Status refused = firstAnswer(tlsWith(web), node("payments", "web")).join();

    assertThat(refused.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refused.getDescription())
        .contains("claims namespace \"payments\"")
        .contains("its certificate is of demo/web");
    assertThat(mesh.distributor.connectedProxies()).isZero();
  }

  @Test
  void aProxyWithoutACertificateIsRefused() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));
    ChannelCredentials anonymous =
        TlsChannelCredentials.newBuilder()
            .trustManager(web.resolve(CredentialFiles.CA_CERTIFICATE_FILE).toFile())
            .build();

    Status refused = firstAnswer(anonymous, node("demo", "web")).join();

    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refused.getDescription()).contains("needs the workload's certificate");
  }

  @Test
  void aNodeThatClaimsNothingIsTheCertificatesWorkload() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));

    Status answered =
        firstAnswer(tlsWith(web), Node.newBuilder().setId("anonymous").build()).join();

    assertThat(answered.getCode()).isEqualTo(Status.Code.OK);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> mesh.distributor.proxies().stream().anyMatch(p -> p.namespace().equals("demo")));
  }

  @Test
  void anOversizedMessageOnTheMutualTlsPortIsRefusedAndCounted() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));

    Status refused =
        firstAnswer(
                tlsWith(web),
                DiscoveryRequest.newBuilder()
                    .setNode(node("demo", "web"))
                    .setTypeUrl(ResourceType.CLUSTER.typeUrl())
                    .setVersionInfo("v".repeat(4 * 1024 * 1024))
                    .build())
            .join();

    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                mesh.meters.get("weft.xds.refused").tag("reason", "message_size").counter().count()
                    == 1.0);
  }

  private XdsProxy startAgent(WorkloadAgent agent) throws Exception {
    agent.renewNow();
    return agent.startXdsProxy(0);
  }

  /** A grpc-xds channel whose bootstrap points at the agent's proxy, as in a Pod. */
  @SuppressWarnings("unchecked")
  private ManagedChannel clientThrough(XdsProxy proxy) throws Exception {
    Map<String, ?> bootstrap =
        (Map<String, ?>)
            JsonParser.parse(
                Bootstrap.json(
                    "127.0.0.1:" + proxy.port(), new Bootstrap.Workload(NAMESPACE, "web", "", "")));
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest("xds-agent", bootstrap);
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    mesh.closeLater(() -> NameResolverRegistry.getDefaultRegistry().deregister(resolver));
    ManagedChannel channel =
        Grpc.newChannelBuilder("xds-agent:///" + TARGET, InsecureChannelCredentials.create())
            .build();
    mesh.closeLater(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  private static ChannelCredentials tlsWith(Path credentials) throws Exception {
    return TlsChannelCredentials.newBuilder()
        .keyManager(
            credentials.resolve(CredentialFiles.CERTIFICATE_FILE).toFile(),
            credentials.resolve(CredentialFiles.PRIVATE_KEY_FILE).toFile())
        .trustManager(credentials.resolve(CredentialFiles.CA_CERTIFICATE_FILE).toFile())
        .build();
  }

  private static Node node(String namespace, String serviceAccount) {
    return Node.newBuilder()
        .setId(serviceAccount + "." + namespace)
        .setMetadata(
            Struct.newBuilder()
                .putFields("NAMESPACE", Value.newBuilder().setStringValue(namespace).build())
                .putFields(
                    "SERVICE_ACCOUNT", Value.newBuilder().setStringValue(serviceAccount).build()))
        .build();
  }

  /**
   * Opens an ADS stream on the CA's port with {@code credentials}, asks for the greeter's Listener
   * as {@code node}, and completes with how the stream ends, or OK at its first response.
   */
  private CompletableFuture<Status> firstAnswer(ChannelCredentials credentials, Node node) {
    return firstAnswer(
        credentials,
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(ResourceType.LISTENER.typeUrl())
            .addResourceNames(TARGET)
            .build());
  }

  private CompletableFuture<Status> firstAnswer(
      ChannelCredentials credentials, DiscoveryRequest request) {
    ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + ca.port(), credentials).build();
    mesh.closeLater(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    CompletableFuture<Status> outcome = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DiscoveryResponse response) {
                    outcome.complete(Status.OK);
                  }

                  @Override
                  public void onError(Throwable error) {
                    outcome.complete(Status.fromThrowable(error));
                  }

                  @Override
                  public void onCompleted() {
                    outcome.complete(Status.OK);
                  }
                });
    requests.onNext(request);
    return outcome.orTimeout(10, TimeUnit.SECONDS);
  }
}
