package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
import dev.weft.telemetry.EdgeStats;
import dev.weft.telemetry.TelemetryCollector;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.internal.JsonParser;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsNameResolverProvider;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
 * The control plane, standalone, as a proxyless client's metrics collector: a grpc-xds client
 * instrumented with grpc-opentelemetry exports OTLP to the plaintext xDS port, and its calls show
 * on {@code /actuator/prometheus} under Istio's names, attributed to the registry's Service.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=0", "weft.ca.port=0"})
class TelemetryApplicationTest {

  private static final int CALLS = 25;

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;
  private static Server greeter;

  @LocalServerPort int port;
  @LocalManagementPort int managementPort;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;
  @Autowired TelemetryCollector collector;

  @BeforeAll
  static void startGreeter() throws IOException {
    greeter =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(Greeter.service("v1"))
            .build()
            .start();
    Files.writeString(
        configDir.resolve("greeter.yaml"), GreeterManifest.withBackendOn(greeter.getPort()));
  }

  @AfterAll
  static void stopGreeter() throws InterruptedException {
    greeter.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void callsOfAnInstrumentedGrpcClientShowAsGoldenMetrics() throws Exception {
    OpenTelemetrySdk sdk = StandaloneMetricsSender.sdk("web", "demo", xds.port().orElseThrow());
    String bootstrap =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://localhost:"
                                + port
                                + "/bootstrap?namespace=demo&serviceAccount=web&pod=web-0"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest("xds-telemetry", parse(bootstrap));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannelBuilder<?> channelBuilder =
        Grpc.newChannelBuilder(
            "xds-telemetry:///greeter.demo.svc.cluster.local:50051",
            InsecureChannelCredentials.create());
    GrpcOpenTelemetry.newBuilder().sdk(sdk).build().configureChannelBuilder(channelBuilder);
    ManagedChannel channel = channelBuilder.build();
    try {
      for (int i = 0; i < CALLS; i++) {
        var unused =
            ClientCalls.blockingUnaryCall(
                channel,
                Greeter.SAY_HELLO,
                CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
                StringValue.of("test"));
      }
      assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
      sdk.close();
    }

    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    assertThat(edges).hasSize(1);
    assertThat(edges.get(0).edge())
        .isEqualTo(
            new EdgeStats.Edge("web", "demo", "greeter.demo.svc.cluster.local", "unknown", "none"));
    assertThat(edges.get(0).requests()).isEqualTo(CALLS);
    String scrape =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + managementPort + "/actuator/prometheus"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(scrape)
        .containsPattern(
            "weft_requests_total\\{[^}]*destination_service=\"greeter.demo.svc.cluster.local\"[^}]*"
                + "grpc_response_status=\"0\"[^}]*source_workload=\"web\"[^}]*\\} "
                + CALLS
                + "\\.0")
        .contains("weft_request_duration_milliseconds_bucket{");

    String body = get(port, "/api/graph?window=1m").body();
    JsonNode graph = json(body);
    assertThat(graph.get("nodes").valueStream().map(node -> node.get("id").asString()).toList())
        .as(body)
        .containsExactly("service:greeter.demo.svc.cluster.local", "workload:demo/web");
    JsonNode edge = graph.at("/edges/0");
    assertThat(edge.get("source").asString()).isEqualTo("workload:demo/web");
    assertThat(edge.get("destination").asString())
        .isEqualTo("service:greeter.demo.svc.cluster.local");
    assertThat(edge.get("requests").asLong()).isEqualTo(CALLS);
    assertThat(edge.get("versionShare").asDouble()).isEqualTo(1.0);
    assertThat(get(port, "/api/graph?window=1h").statusCode()).isEqualTo(400);
    assertThat(get(port, "/api/graph?window=soon").body()).contains("\"field\":\"window\"");
  }

  private static HttpResponse<String> get(int port, String path)
      throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(String body) {
    return JsonMapper.builder().build().readTree(body);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }
}
