package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.ca.CredentialFiles;
import dev.weft.ca.Pem;
import dev.weft.ca.WorkloadAgent;
import dev.weft.ca.XdsProxy;
import dev.weft.demo.Greeter;
import dev.weft.telemetry.EdgeStats;
import dev.weft.telemetry.TelemetryCollector;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.xds.XdsNameResolverProvider;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The control plane as a cluster runs it: no plaintext xDS port, proxies authenticated by their
 * SVIDs on the CA's port. A proxyless gRPC client gets its config through its workload agent's
 * local xDS proxy, with the bootstrap the control plane hands out; a proxy that claims another
 * namespace than its certificate's is refused.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=-1", "weft.ca.port=0"})
class XdsOverMutualTlsApplicationTest {

  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";

  @TempDir static Path dir;
  private static Server backend;
  private static ScheduledExecutorService scheduler;

  @LocalServerPort int port;
  @Autowired CaLifecycle ca;
  @Autowired XdsConfiguration.XdsServerLifecycle plaintext;
  @Autowired TelemetryCollector telemetry;

  @BeforeAll
  static void start() throws IOException {
    backend =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(Greeter.service("v1"))
            .build()
            .start();
    Files.createDirectories(dir.resolve("config"));
    Files.writeString(
        dir.resolve("config/greeter.yaml"), GreeterManifest.withBackendOn(backend.getPort()));
    Files.writeString(dir.resolve("tokens"), TOKEN + " demo shop\n");
    Files.writeString(dir.resolve("token"), TOKEN);
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    scheduler.shutdownNow();
    backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", () -> dir.resolve("config").toString());
    properties.add("weft.ca.data-dir", () -> dir.resolve("ca").toString());
    properties.add("weft.ca.bootstrap-tokens", () -> dir.resolve("tokens").toString());
  }

  @BeforeEach
  void awaitTheCa() {
    await().atMost(Duration.ofSeconds(10)).until(() -> ca.server().isPresent());
  }

  @Test
  void aWorkloadGetsItsConfigThroughItsAgentAndNoPlaintextPortListens() throws Exception {
    assertThat(plaintext.port()).isEmpty();
    String bootstrap = get("/bootstrap?namespace=demo&serviceAccount=shop&pod=shop-0");
    // Without a plaintext port, bootstraps send workloads to their agent's proxy in the Pod.
    assertThat(bootstrap).containsPattern("\"server_uri\":\\s*\"127.0.0.1:15010\"");

    try (WorkloadAgent agent = agent("shop");
        XdsProxy proxy = agent.startXdsProxy(0)) {
      XdsNameResolverProvider resolver =
          XdsNameResolverProvider.createForTest(
              "xds-mtls", parse(bootstrap.replace("127.0.0.1:15010", "127.0.0.1:" + proxy.port())));
      NameResolverRegistry.getDefaultRegistry().register(resolver);
      ManagedChannel channel =
          Grpc.newChannelBuilder("xds-mtls:///" + TARGET, InsecureChannelCredentials.create())
              .build();
      try {
        String answer =
            Greeter.backendOf(
                ClientCalls.blockingUnaryCall(
                    channel,
                    Greeter.SAY_HELLO,
                    CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
                    StringValue.of("test")));

        assertThat(answer).isEqualTo("v1");
        JsonNode proxies = JsonMapper.builder().build().readTree(get("/debug/proxies"));
        assertThat(proxies).hasSize(1);
        assertThat(proxies.get(0).get("namespace").asString()).isEqualTo("demo");
        assertThat(proxies.get(0).get("serviceAccount").asString()).isEqualTo("shop");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        NameResolverRegistry.getDefaultRegistry().deregister(resolver);
      }
    }
  }

  @Test
  void aProxyClaimingAnotherNamespaceThanItsCertificatesIsRefused() throws Exception {
    agent("claims").close();
    Path credentials = dir.resolve("svid-claims");
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "localhost:" + ca.server().orElseThrow().port(),
                TlsChannelCredentials.newBuilder()
                    .keyManager(
                        credentials.resolve(CredentialFiles.CERTIFICATE_FILE).toFile(),
                        credentials.resolve(CredentialFiles.PRIVATE_KEY_FILE).toFile())
                    .trustManager(credentials.resolve(CredentialFiles.CA_CERTIFICATE_FILE).toFile())
                    .build())
            .build();
    try {
      Status refused = firstAnswer(channel, "payments").get(10, TimeUnit.SECONDS);

      assertThat(refused.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(refused.getDescription()).contains("claims namespace \"payments\"");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void anEnvoyBootstrapNamesThePortAndIdentityTheCaPortReallyServes() throws Exception {
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser()
        .usingTypeRegistry(
            JsonFormat.TypeRegistry.newBuilder()
                .add(UpstreamTlsContext.getDescriptor())
                .add(HttpProtocolOptions.getDescriptor())
                .add(io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig.getDescriptor())
                .build())
        .merge(
            get("/bootstrap?proxy=envoy&namespace=demo&serviceAccount=shop&pod=shop-0"), bootstrap);
    Cluster xds = bootstrap.getStaticResources().getClusters(0);
    SocketAddress address =
        xds.getLoadAssignment()
            .getEndpoints(0)
            .getLbEndpoints(0)
            .getEndpoint()
            .getAddress()
            .getSocketAddress();
    UpstreamTlsContext tls =
        xds.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    String expectedId =
        tls.getCommonTlsContext()
            .getCombinedValidationContext()
            .getDefaultValidationContext()
            .getMatchTypedSubjectAltNames(0)
            .getMatcher()
            .getExact();
    assertThat(address.getPortValue()).isEqualTo(ca.server().orElseThrow().port());

    // Connect as Envoy would (its SNI, a workload's SVID) to that port, on loopback.
    agent("envoy").close();
    Path credentials = dir.resolve("svid-envoy");
    List<X509Certificate> chain =
        Pem.parseCertificates(
            Files.readString(credentials.resolve(CredentialFiles.CERTIFICATE_FILE)));
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(
        "svid",
        Pem.parsePrivateKey(
            Files.readString(credentials.resolve(CredentialFiles.PRIVATE_KEY_FILE))),
        new char[0],
        chain.toArray(X509Certificate[]::new));
    KeyStore roots = KeyStore.getInstance("PKCS12");
    roots.load(null, null);
    List<X509Certificate> bundle =
        Pem.parseCertificates(
            Files.readString(credentials.resolve(CredentialFiles.CA_CERTIFICATE_FILE)));
    for (int i = 0; i < bundle.size(); i++) {
      roots.setCertificateEntry("root-" + i, bundle.get(i));
    }
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, new char[0]);
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(roots);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("localhost", address.getPortValue())) {
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setServerNames(List.of(new SNIHostName(tls.getSni())));
      parameters.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(parameters);
      socket.startHandshake(); // the server's chain verifies against the mesh's roots

      X509Certificate server = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      assertThat(server.getSubjectAlternativeNames())
          .contains(List.of(6, expectedId)) // URI: what the bootstrap requires
          .contains(List.of(2, address.getAddress())); // DNS: the host Envoy dials
      assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
    }
  }

  /**
   * The telemetry collector shares the CA's port: a workload exporting OTLP with the SVID its agent
   * got is the reporter its certificate names, whatever its resource claims.
   */
  @Test
  void metricsExportedWithAnSvidAreAttributedToItsIdentity() throws Exception {
    agent("reporter").close();
    Path credentials = dir.resolve("svid-reporter");
    OpenTelemetrySdk sdk =
        OpenTelemetrySdk.builder()
            .setMeterProvider(
                SdkMeterProvider.builder()
                    .setResource(
                        Resource.getDefault()
                            .merge(
                                Resource.create(
                                    Attributes.of(
                                        AttributeKey.stringKey("service.name"), "impostor",
                                        AttributeKey.stringKey("k8s.namespace.name"),
                                            "elsewhere"))))
                    .registerMetricReader(
                        PeriodicMetricReader.builder(
                                OtlpGrpcMetricExporter.builder()
                                    .setEndpoint(
                                        "https://localhost:" + ca.server().orElseThrow().port())
                                    .setTrustedCertificates(
                                        Files.readAllBytes(
                                            credentials.resolve(
                                                CredentialFiles.CA_CERTIFICATE_FILE)))
                                    .setClientTls(
                                        Files.readAllBytes(
                                            credentials.resolve(CredentialFiles.PRIVATE_KEY_FILE)),
                                        Files.readAllBytes(
                                            credentials.resolve(CredentialFiles.CERTIFICATE_FILE)))
                                    .build())
                            .setInterval(Duration.ofHours(1))
                            .build())
                    .build())
            .build();
    try {
      // What grpc-opentelemetry records for one call of a grpc-xds channel.
      sdk.getMeter("grpc-java")
          .histogramBuilder("grpc.client.attempt.duration")
          .setUnit("s")
          .build()
          .record(
              0.004,
              Attributes.of(
                  AttributeKey.stringKey("grpc.target"), "xds:///" + TARGET,
                  AttributeKey.stringKey("grpc.method"), "helloworld.Greeter/SayHello",
                  AttributeKey.stringKey("grpc.status"), "OK"));
      assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    } finally {
      sdk.close();
    }

    assertThat(telemetry.edges(Duration.ofMinutes(1)))
        .extracting(EdgeStats::edge)
        .containsExactly(
            new EdgeStats.Edge(
                "shop", "demo", "greeter.demo.svc.cluster.local", "unknown", "none"));
  }

  /** An agent for demo/shop that holds its first certificate, written under svid-{name}. */
  private WorkloadAgent agent(String name) throws Exception {
    JsonNode info = JsonMapper.builder().build().readTree(get("/debug/ca"));
    WorkloadAgent agent =
        WorkloadAgent.builder()
            .target("localhost:" + info.get("port").asInt())
            .serverSpiffeId(info.get("spiffeId").asString())
            .bootstrapTrustBundle(Pem.parseCertificates(info.get("trustBundlePem").asString()))
            .tokenFile(dir.resolve("token"))
            .outputDirectory(dir.resolve("svid-" + name))
            .scheduler(scheduler)
            .build();
    agent.renewNow();
    return agent;
  }

  /** Asks for the greeter's Listener as demo/shop claiming {@code namespace}: how it ends. */
  private static CompletableFuture<Status> firstAnswer(ManagedChannel channel, String namespace) {
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
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(
                Node.newBuilder()
                    .setId("shop-0." + namespace)
                    .setMetadata(
                        Struct.newBuilder()
                            .putFields(
                                "NAMESPACE", Value.newBuilder().setStringValue(namespace).build())
                            .putFields(
                                "SERVICE_ACCOUNT",
                                Value.newBuilder().setStringValue("shop").build())))
            .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener")
            .addResourceNames(TARGET)
            .build());
    return outcome;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }

  private String get(String path) throws IOException, InterruptedException {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(path).isEqualTo(200);
    return response.body();
  }
}
