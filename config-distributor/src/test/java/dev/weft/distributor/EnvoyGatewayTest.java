package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.api.policy.Telemetry;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Gateway's Envoy, as its node and requests say it is, gets its Gateway's listeners, the routes
 * of the HTTPRoutes attached to it, the clusters they forward to, and its HTTPS listener's
 * certificate over SDS, on a real ADS stream; the certificate it gets really serves a TLS handshake
 * that the JDK verifies for the listener's host name. Every resource passes Envoy's field
 * constraints, and the Gateway's configuration is kept as a golden file.
 */
class EnvoyGatewayTest {

  private static final String LDS = ResourceType.LISTENER.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String RDS = ResourceType.ROUTE.typeUrl();
  private static final String SDS = ResourceType.SECRET.typeUrl();
  private static final String CERTIFICATE = "kubernetes://demo/shop-cert";
  private static final Path GOLDEN = Path.of("src/test/resources/golden/envoy-gateway.json");
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(HttpConnectionManager.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(TlsInspector.getDescriptor())
                  .add(DownstreamTlsContext.getDescriptor())
                  .build());

  private static final String GATEWAY_CLASS =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: GatewayClass
      metadata: {name: weft}
      spec: {controllerName: weft.dev/gateway-controller}
      """;

  private static final String GATEWAY =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: {name: edge, namespace: demo, creationTimestamp: "2026-11-30T10:00:00Z"}
      spec:
        gatewayClassName: weft
        listeners:
        - {name: http, port: 8080, protocol: HTTP}
        - name: shop
          port: 8443
          protocol: HTTPS
          hostname: shop.example.com
          tls:
            certificateRefs: [{name: shop-cert}]
      """;

  private static final String ROUTE =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: shop, namespace: demo, creationTimestamp: "2026-11-30T10:00:00Z"}
      spec:
        parentRefs: [{name: edge}]
        hostnames: [shop.example.com, "*.internal.example.com"]
        rules:
        - matches: [{path: {type: PathPrefix, value: /cart}}]
          backendRefs:
          - {name: greeter, port: 50051, weight: 90}
          - {name: greeter-v2, port: 50051, weight: 10}
        - backendRefs: [{name: greeter, port: 50051}]
      """;

  private XdsTestbed mesh;
  private AdsTestClient envoy;
  private KeyPair key;
  private X509Certificate certificate;

  @BeforeEach
  void start() throws Exception {
    mesh = new XdsTestbed();
    mesh.greeter(50051, 7001);
    mesh.source()
        .upsert(dev.weft.registry.TestObjects.service("demo", "greeter-v2", "grpc", 50051));
    issueCertificate("shop.example.com");
    upsert(GATEWAY_CLASS, GatewayClass.class);
    upsert(GATEWAY, Gateway.class);
    upsert(ROUTE, HTTPRoute.class);
    mesh.source().upsert(tlsSecret("shop-cert", pem(certificate), pem(key.getPrivate())));
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    awaitServed(state -> state.config(key(ResourceKind.SECRET, "demo", "shop-cert")).isPresent());
    envoy = new AdsTestClient(mesh.xdsPort());
  }

  @AfterEach
  void stop() {
    envoy.close();
    mesh.close();
  }

  @Test
  void aGatewayGetsItsListenersRoutesClustersAndCertificate() throws Exception {
    envoy.openSotw();
    Node node = gatewayNode("edge");
    List<Listener> listeners = wildcard(node, LDS, Listener.class);
    List<Cluster> clusters = wildcard(node, CDS, Cluster.class);

    assertThat(listeners)
        .extracting(Listener::getName)
        .containsExactly("weft/gateway/demo/edge/8080", "weft/gateway/demo/edge/8443");
    Listener https = listeners.get(1);
    assertThat(https.getFilterChains(0).getFilterChainMatch().getServerNamesList())
        .containsExactly("shop.example.com");
    DownstreamTlsContext tls =
        https
            .getFilterChains(0)
            .getTransportSocket()
            .getTypedConfig()
            .unpack(DownstreamTlsContext.class);
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo(CERTIFICATE);
    assertThat(clusters)
        .extracting(Cluster::getName)
        .containsExactly(
            "greeter-v2.demo.svc.cluster.local:50051", "greeter.demo.svc.cluster.local:50051");

    RouteConfiguration plain = named(RDS, "weft/gateway/demo/edge/8080");
    // The HTTP listener names no host: the route answers for its own host names.
    assertThat(plain.getVirtualHostsList())
        .extracting(VirtualHost::getName)
        .containsExactly("*.internal.example.com", "shop.example.com");
    Route cart = plain.getVirtualHosts(1).getRoutes(0);
    assertThat(cart.getMatch().getSafeRegex().getRegex()).isEqualTo("^/cart(/.*)?$");
    assertThat(cart.getRoute().getWeightedClusters().getClustersList())
        .extracting(WeightedCluster.ClusterWeight::getName, c -> c.getWeight().getValue())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("greeter.demo.svc.cluster.local:50051", 90),
            org.assertj.core.groups.Tuple.tuple("greeter-v2.demo.svc.cluster.local:50051", 10));

    RouteConfiguration secure = named(RDS, "weft/gateway/demo/edge/8443/shop");
    // The HTTPS listener answers for shop.example.com only: the intersection of the two.
    assertThat(secure.getVirtualHostsList())
        .extracting(VirtualHost::getName)
        .containsExactly("shop.example.com");

    Secret secret = named(SDS, CERTIFICATE);
    assertServesTls(secret, "shop.example.com");

    List<Message> golden = new ArrayList<>(listeners);
    golden.add(plain);
    golden.add(secure);
    for (Message resource : golden) {
      EnvoyConstraints.assertValid(resource);
    }
    EnvoyConstraints.assertValid(secret);
    GoldenFile.assertMatches(GOLDEN, golden, JSON);
  }

  @Test
  void aTelemetryOfItsNamespaceTracesTheGatewaysRequestsUnderItsName() throws Exception {
    upsert(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: Telemetry
        metadata: {name: tracing, namespace: demo}
        spec:
          tracing: {randomSamplingPercentage: 10, otlp: {endpoint: '[fd00::12]:4317'}}
        """,
        Telemetry.class);
    awaitServed(state -> state.config(key(ResourceKind.TELEMETRY, "demo", "tracing")).isPresent());
    envoy.openSotw();
    Node node = gatewayNode("edge");

    List<Listener> listeners = wildcard(node, LDS, Listener.class);
    List<Cluster> clusters = wildcard(node, CDS, Cluster.class);

    List<HttpConnectionManager> managers = new ArrayList<>();
    for (Listener listener : listeners) {
      for (var chain : listener.getFilterChainsList()) {
        managers.add(chain.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class));
      }
    }
    assertThat(managers).hasSize(2);
    for (HttpConnectionManager manager : managers) {
      assertThat(manager.getTracing().getRandomSampling().getValue()).isEqualTo(10);
      OpenTelemetryConfig tracer =
          manager.getTracing().getProvider().getTypedConfig().unpack(OpenTelemetryConfig.class);
      assertThat(tracer.getServiceName()).isEqualTo("edge.demo");
      assertThat(tracer.getGrpcService().getEnvoyGrpc().getClusterName())
          .isEqualTo("weft/tracing|[fd00::12]:4317");
    }
    assertThat(clusters)
        .extracting(Cluster::getName)
        .containsExactly(
            "greeter-v2.demo.svc.cluster.local:50051",
            "greeter.demo.svc.cluster.local:50051",
            "weft/tracing|[fd00::12]:4317");
    assertThat(clusters.get(2).getLoadAssignment().getEndpoints(0).getLbEndpoints(0))
        .extracting(endpoint -> endpoint.getEndpoint().getAddress().getSocketAddress().getAddress())
        .isEqualTo("fd00::12");
    for (Listener listener : listeners) {
      EnvoyConstraints.assertValid(listener);
    }
    EnvoyConstraints.assertValid(clusters.get(2));
  }

  @Test
  void noOtherProxyGetsTheGatewaysCertificateOrRoutes() throws Exception {
    for (Node node : List.of(gatewayNode("other"), sidecarNode())) {
      try (AdsTestClient other = new AdsTestClient(mesh.xdsPort())) {
        other.openSotw();
        other.send(
            DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(SDS)
                .addResourceNames(CERTIFICATE)
                .build());
        other.send(
            DiscoveryRequest.newBuilder()
                .setTypeUrl(RDS)
                .addResourceNames("weft/gateway/demo/edge/8443/shop")
                .build());
        other.send(DiscoveryRequest.newBuilder().setTypeUrl(LDS).build());
        // The wildcard Listeners answer; the names it may not hold were never sent.
        List<DiscoveryResponse> responses = new ArrayList<>();
        DiscoveryResponse response;
        do {
          response = other.nextSotw();
          responses.add(response);
        } while (!response.getTypeUrl().equals(LDS));
        for (DiscoveryResponse each : responses) {
          for (Any resource : each.getResourcesList()) {
            assertThat(resource.getTypeUrl()).isNotEqualTo(SDS);
            if (resource.getTypeUrl().equals(RDS)) {
              assertThat(resource.unpack(RouteConfiguration.class).getName())
                  .doesNotStartWith("weft/gateway/demo/edge/");
            }
            if (resource.getTypeUrl().equals(LDS)) {
              assertThat(resource.unpack(Listener.class).getName())
                  .doesNotStartWith("weft/gateway/demo/edge/");
            }
          }
        }
      }
    }
  }

  @Test
  void aRotatedCertificateReachesTheGatewayAndAnInvalidOneLosesNothing() throws Exception {
    envoy.openSotw();
    Node node = gatewayNode("edge");
    envoy.send(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(SDS)
            .addResourceNames(CERTIFICATE)
            .build());
    DiscoveryResponse first = envoy.nextSotw();
    // As Envoy does, the ACK names what it subscribes to (no names would unsubscribe).
    envoy.send(AdsTestClient.ack(first).toBuilder().addResourceNames(CERTIFICATE).build());

    X509Certificate old = certificate;
    issueCertificate("shop.example.com");
    assertThat(certificate).isNotEqualTo(old);
    mesh.source().upsert(tlsSecret("shop-cert", pem(certificate), pem(key.getPrivate())));
    awaitServed(state -> certificate.equals(servedCertificate(state)));
    DiscoveryResponse rotated = envoy.nextSotw();
    envoy.send(AdsTestClient.ack(rotated).toBuilder().addResourceNames(CERTIFICATE).build());
    Secret secret = rotated.getResources(0).unpack(Secret.class);
    assertThat(certificateOf(secret)).isEqualTo(certificate);
    assertServesTls(secret, "shop.example.com");

    // A key that is not PEM is refused with its field named; the last good one keeps serving.
    mesh.source().upsert(tlsSecret("shop-cert", pem(certificate), "not a key"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> mesh.registry.current().rejection(key(ResourceKind.SECRET, "demo", "shop-cert")),
            java.util.Optional::isPresent);
    assertThat(
            mesh.registry
                .current()
                .rejection(key(ResourceKind.SECRET, "demo", "shop-cert"))
                .orElseThrow()
                .errors()
                .toString())
        .contains("data[tls.key]")
        .contains("no PEM private key");
    assertThat(envoy.hasPending()).isFalse();
    assertThat(certificateOf(GatewayTranslator.secret(mesh.registry.current(), CERTIFICATE)))
        .isEqualTo(certificate);
  }

  @Test
  void aGatewayOfAnotherControllersClassGetsNothing() throws Exception {
    upsert(GATEWAY.replace("gatewayClassName: weft", "gatewayClassName: nginx"), Gateway.class);
    awaitServed(
        state ->
            state
                .config(key(ResourceKind.GATEWAY, "demo", "edge"))
                .flatMap(config -> config.gateway())
                .map(gateway -> gateway.toString().contains("className=nginx"))
                .orElse(false));
    envoy.openSotw();
    assertThat(wildcard(gatewayNode("edge"), LDS, Listener.class)).isEmpty();
  }

  private void assertServesTls(Secret secret, String host) throws Exception {
    X509Certificate served = certificateOf(secret);
    // Envoy reads the key as PEM; a PKCS#8 one is what the test wrote, and reads back so.
    String keyPem = secret.getTlsCertificate().getPrivateKey().getInlineString();
    byte[] pkcs8 =
        Base64.getMimeDecoder()
            .decode(
                keyPem
                    .replace("-----BEGIN PRIVATE KEY-----", "")
                    .replace("-----END PRIVATE KEY-----", ""));
    PrivateKey servedKey =
        KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("served", servedKey, new char[0], new X509Certificate[] {served});
    KeyManagerFactory keyManagers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, new char[0]);
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(keyManagers.getKeyManagers(), null, null);

    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("issued", certificate);
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trusted);
    SSLContext clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, trust.getTrustManagers(), null);

    try (SSLServerSocket server =
        (SSLServerSocket)
            serverContext
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> accepted =
          CompletableFuture.runAsync(
              () -> {
                try (SSLSocket socket = (SSLSocket) server.accept()) {
                  socket.startHandshake();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      try (SSLSocket client =
          (SSLSocket)
              clientContext
                  .getSocketFactory()
                  .createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
        SSLParameters parameters = client.getSSLParameters();
        parameters.setServerNames(List.of(new SNIHostName(host)));
        // The client checks the certificate is for the host it asked for, as a browser does.
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        client.setSSLParameters(parameters);
        client.startHandshake();
        assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(certificate);
      }
      accepted.get(10, TimeUnit.SECONDS);
    }
  }

  private static X509Certificate servedCertificate(MeshState state) {
    Secret secret = GatewayTranslator.secret(state, CERTIFICATE);
    try {
      return secret == null ? null : certificateOf(secret);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate certificateOf(Secret secret) throws Exception {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509")
            .generateCertificate(
                new ByteArrayInputStream(
                    secret
                        .getTlsCertificate()
                        .getCertificateChain()
                        .getInlineString()
                        .getBytes(StandardCharsets.UTF_8)));
  }

  private void issueCertificate(String host) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    key = generator.generateKeyPair();
    Instant now = Instant.now();
    X500Principal subject = new X500Principal("CN=" + host);
    JcaX509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            subject,
            BigInteger.valueOf(now.toEpochMilli()).add(BigInteger.valueOf(System.nanoTime())),
            Date.from(now.minusSeconds(60)),
            Date.from(now.plus(Duration.ofDays(1))),
            subject,
            key.getPublic());
    builder.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, host)));
    certificate =
        new JcaX509CertificateConverter()
            .getCertificate(
                builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
  }

  private static String pem(PrivateKey privateKey) {
    return "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(privateKey.getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
  }

  private static String pem(X509Certificate object) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }

  private static io.fabric8.kubernetes.api.model.Secret tlsSecret(
      String name, String chain, String privateKey) {
    Base64.Encoder base64 = Base64.getEncoder();
    return new SecretBuilder()
        .withNewMetadata()
        .withNamespace("demo")
        .withName(name)
        .endMetadata()
        .withType("kubernetes.io/tls")
        .withData(
            Map.of(
                "tls.crt", base64.encodeToString(chain.getBytes(StandardCharsets.UTF_8)),
                "tls.key", base64.encodeToString(privateKey.getBytes(StandardCharsets.UTF_8))))
        .build();
  }

  private <T extends HasMetadata> void upsert(String yaml, Class<T> type) {
    mesh.source().upsert(YAML.unmarshal(yaml, type));
  }

  private static ObjectKey key(ResourceKind kind, String namespace, String name) {
    return new ObjectKey(kind, namespace, name);
  }

  private void awaitServed(Predicate<MeshState> condition) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> mesh.distributor.published().map(condition::test).orElse(false));
  }

  private static Node gatewayNode(String gateway) {
    return Node.newBuilder()
        .setId("edge-7d9f.demo")
        .setUserAgentName("envoy")
        .setMetadata(
            Struct.newBuilder()
                .putFields("NAMESPACE", text("demo"))
                .putFields("SERVICE_ACCOUNT", text("edge"))
                .putFields("PROXY_TYPE", text("gateway"))
                .putFields(
                    "LABELS",
                    Value.newBuilder()
                        .setStructValue(
                            Struct.newBuilder()
                                .putFields("gateway.networking.k8s.io/gateway-name", text(gateway)))
                        .build()))
        .build();
  }

  private static Node sidecarNode() {
    return Node.newBuilder()
        .setId("client.demo")
        .setUserAgentName("envoy")
        .setMetadata(
            Struct.newBuilder()
                .putFields("NAMESPACE", text("demo"))
                .putFields("PROXY_TYPE", text("sidecar")))
        .build();
  }

  private <T extends Message> List<T> wildcard(Node node, String typeUrl, Class<T> type)
      throws Exception {
    envoy.send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).build());
    DiscoveryResponse response = envoy.nextSotw();
    envoy.send(AdsTestClient.ack(response));
    List<T> resources = new ArrayList<>();
    for (Any resource : response.getResourcesList()) {
      resources.add(resource.unpack(type));
    }
    return resources;
  }

  @SuppressWarnings("unchecked")
  private <T extends Message> T named(String typeUrl, String name) throws Exception {
    envoy.send(DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addResourceNames(name).build());
    DiscoveryResponse response = envoy.nextSotw();
    envoy.send(AdsTestClient.ack(response));
    Class<? extends Message> type = typeUrl.equals(SDS) ? Secret.class : RouteConfiguration.class;
    return (T) response.getResources(0).unpack(type);
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }
}
