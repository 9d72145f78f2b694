package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole control plane, standalone, serving a grpc-xds client that bootstraps from the control
 * plane's own {@code /bootstrap}, as the demo does.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "weft.mode=standalone",
      "weft.xds.port=0",
      "weft.ca.port=0",
      "weft.kubernetes.identity=weft-test-0"
    })
class XdsApplicationTest {

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;
  private static Server v1;
  private static Server v2;

  @LocalServerPort int port;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;

  /** Probes and metrics are on the management port. */
  @LocalManagementPort int managementPort;

  @BeforeAll
  static void startBackends() throws IOException {
    v1 = backend("v1");
    v2 = backend("v2");
    Files.writeString(
        configDir.resolve("greeter.yaml"),
        """
        apiVersion: v1
        kind: Service
        metadata: {name: greeter, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: greeter-v1
          namespace: demo
          labels: {kubernetes.io/service-name: greeter}
        addressType: IPv4
        ports: [{name: grpc, port: %d}]
        endpoints: [{addresses: ["127.0.0.1"], zone: zone-a}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: greeter-v2
          namespace: demo
          labels: {kubernetes.io/service-name: greeter}
        addressType: IPv4
        ports: [{name: grpc, port: %d}]
        endpoints: [{addresses: ["127.0.0.1"], zone: zone-a}]
        """
            .formatted(v1.getPort(), v2.getPort()));
  }

  @AfterAll
  static void stopBackends() throws InterruptedException {
    v1.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    v2.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void clientBootstrappedFromTheControlPlaneReachesEveryBackendAndShowsAsAProxy() throws Exception {
    String bootstrap = get("/bootstrap?namespace=demo&serviceAccount=shop&pod=shop-0").body();
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest("xds-app", parse(bootstrap));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "xds-app:///greeter.demo.svc.cluster.local:50051",
                InsecureChannelCredentials.create())
            .build();
    try {
      Map<String, Integer> answered = new TreeMap<>();
      for (int i = 0; i < 40; i++) {
        answered.merge(call(channel), 1, Integer::sum);
      }
      assertThat(answered).containsOnlyKeys("v1", "v2");
      assertThat(answered.get("v1")).isBetween(10, 30); // round robin, one locality

      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                JsonNode proxies = json(get("/debug/proxies").body());
                assertThat(proxies).hasSize(1);
                assertThat(proxies.get(0).get("nodeId").asString()).isEqualTo("shop-0.demo");
                assertThat(proxies.get(0).get("serviceAccount").asString()).isEqualTo("shop");
                assertThat(proxies.get(0).get("type").asString()).isEqualTo("grpc");
                // The replica holding the stream, beside ProxyStatus's own fields.
                assertThat(proxies.get(0).get("replica").asString()).isEqualTo("weft-test-0");
              });
      HttpResponse<String> dump = get("/debug/config_dump?proxy=shop-0.demo");
      assertThat(dump.statusCode()).isEqualTo(200);
      assertThat(dump.body()).contains("greeter.demo.svc.cluster.local:50051");
      assertThat(get("/debug/config_dump?proxy=nobody").statusCode()).isEqualTo(404);
      assertThat(get("/actuator/prometheus").body())
          .contains("weft_xds_proxies 1.0")
          .contains("weft_xds_pushes_total{type=\"endpoint\"}");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
    }
  }

  @Test
  void invalidBootstrapRequestNamesEveryBadField() throws Exception {
    HttpResponse<String> response = get("/bootstrap?namespace=Not_A_Namespace");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body())
        .contains("\"field\":\"namespace\"")
        .contains("\"field\":\"serviceAccount\"");
  }

  @Test
  void anEnvoyBootstrapPointsAtThePlaintextPortWithTheProxysIdentity() throws Exception {
    HttpResponse<String> response =
        get("/bootstrap?proxy=envoy&type=gateway&namespace=demo&serviceAccount=edge&podIp=::1");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode bootstrap = json(response.body());
    assertThat(bootstrap.at("/node/metadata/PROXY_TYPE").asString()).isEqualTo("gateway");
    assertThat(bootstrap.at("/node/metadata/INSTANCE_IPS").asString()).isEqualTo("::1");
    JsonNode address =
        bootstrap.at("/staticResources/clusters/0/loadAssignment/endpoints/0/lbEndpoints/0");
    assertThat(address.at("/endpoint/address/socketAddress/portValue").asInt())
        .isEqualTo(xds.port().orElseThrow());
    assertThat(bootstrap.at("/staticResources/clusters/0/transportSocket").isMissingNode())
        .isTrue();

    JsonNode scoped =
        json(
            get("/bootstrap?proxy=envoy&namespace=demo&serviceAccount=shop"
                    + "&egress=./*,bank/ledger&egress=*/audit")
                .body());
    assertThat(scoped.at("/node/metadata/EGRESS").valueStream().map(JsonNode::asString))
        .containsExactly("./*", "bank/ledger", "*/audit");

    HttpResponse<String> refused =
        get(
            "/bootstrap?proxy=nginx&type=mesh&namespace=demo&serviceAccount=edge&label=a"
                + "&egress=bank.ledger");
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body())
        .contains("\"field\":\"proxy\"")
        .contains("\"field\":\"type\"")
        .contains("\"field\":\"label[0]\"")
        .contains("\"field\":\"egress[0]\"");
  }

  private static Server backend(String name) throws IOException {
    return Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(Greeter.service(name))
        .build()
        .start();
  }

  private static String call(ManagedChannel channel) {
    return Greeter.backendOf(
        ClientCalls.blockingUnaryCall(
            channel,
            Greeter.SAY_HELLO,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
            StringValue.of("test")));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }

  private static JsonNode json(String body) {
    return JsonMapper.builder().build().readTree(body);
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://localhost:"
                            + (path.startsWith("/actuator") ? managementPort : port)
                            + path))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
