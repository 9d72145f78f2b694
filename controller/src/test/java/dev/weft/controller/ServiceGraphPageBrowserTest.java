package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
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
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The service graph page in a real browser: Debian's headless Chromium, driven by Selenium through
 * Debian's chromedriver, reads the page the control plane serves while a grpc-xds client,
 * instrumented with grpc-opentelemetry, exports its calls to the control plane over OTLP. What a
 * person would see is checked: the edge web → greeter with the numbers the graph API gives, the
 * greeter's panel (ports, endpoints per zone, its route's conditions), and the page following new
 * calls without being reloaded.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=0", "weft.ca.port=0"})
class ServiceGraphPageBrowserTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String WEB = "workload:demo/web";
  private static final String GREETER = "service:greeter.demo.svc.cluster.local";

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;
  private static Server greeter;
  private static HeadlessChromium chromium;
  private static WebDriver browser;

  @LocalServerPort int port;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;

  @BeforeAll
  static void start() throws IOException {
    greeter =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(Greeter.service("v1"))
            .build()
            .start();
    Files.writeString(
        configDir.resolve("greeter.yaml"),
        GreeterManifest.withBackendOn(greeter.getPort())
            + """
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: greeter-zone-b
              namespace: demo
              labels: {kubernetes.io/service-name: greeter}
            addressType: IPv4
            ports: [{name: grpc, port: 50061}]
            endpoints: [{addresses: ["127.0.0.2"], conditions: {ready: false}, zone: zone-b}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: greeter-route, namespace: demo}
            spec:
              parentRefs: [{group: "", kind: Service, name: greeter, port: 50051}]
              rules:
                - backendRefs: [{name: greeter, port: 50051}]
            """);
    chromium = HeadlessChromium.start();
    browser = chromium.driver();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    try {
      if (chromium != null) {
        chromium.close();
      }
    } finally {
      greeter.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void thePageDrawsTheCallsOfAnInstrumentedClientAndFollowsNewOnes() throws Exception {
    try (Web web = new Web()) {
      web.call(20);
      JsonNode first = awaitApiEdge(20);

      ServiceGraphPage page = ServiceGraphPage.open(browser, "http://127.0.0.1:" + port, WAIT);
      ((JavascriptExecutor) browser).executeScript("window.loadedOnce = true;");
      ServiceGraphPage.Edge edge = page.awaitEdge(WEB, GREETER, "unknown", e -> shows(e, first));
      assertThat(edge.label())
          .startsWith("0.33 rps · 0.0% err · p50 ")
          .endsWith(" · 100%")
          .doesNotContain("mTLS");
      assertThat(page.serviceNodes()).containsExactly("greeter.demo");

      ServiceGraphPage.Panel panel = page.openService(GREETER);
      assertThat(panel.service()).isEqualTo("demo/greeter");
      assertThat(panel.ports()).containsExactly("grpc 50051 50051 TCP / grpc");
      assertThat(panel.endpoints()).isEqualTo("1 ready, 1 not ready");
      assertThat(panel.zones()).containsExactly("(no zone) 1 0", "zone-b 0 1");
      assertThat(panel.attached()).containsExactly("GRPCRoute demo/greeter-route");
      page.await(
          p ->
              panel
                  .conditions("GRPCRoute", "greeter-route")
                  .contains("Programmed: True (Programmed) — 1 of 1 proxy holds it"));
      assertThat(panel.conditions("GRPCRoute", "greeter-route"))
          .contains(
              "Accepted: True (Accepted) — attached to its parent Services",
              "ResolvedRefs: True (ResolvedRefs) — all backends exist");
      assertThat(panel.rates()).containsExactly("from demo/web: " + edge.label());

      web.call(40);
      JsonNode second = awaitApiEdge(60);
      ServiceGraphPage.Edge updated =
          page.awaitEdge(WEB, GREETER, "unknown", e -> shows(e, second));
      assertThat(updated.label()).startsWith("1.00 rps · 0.0% err");
      page.await(p -> panel.rates().equals(List.of("from demo/web: " + updated.label())));
      assertThat(((JavascriptExecutor) browser).executeScript("return window.loadedOnce;"))
          .as("the page updated itself, without a reload")
          .isEqualTo(true);
    }
    assertThat(get("/api/services/demo/nosuch").statusCode()).isEqualTo(404);
    assertThat(get("/api/services/demo/nosuch").body())
        .contains("\"field\":\"name\"", "no Service demo/nosuch");
  }

  /**
   * Waits until the graph API holds {@code requests} calls from web to greeter and returns that
   * edge: the exporter's flush has been received by then, but the test does not rely on when.
   */
  private JsonNode awaitApiEdge(long requests) {
    AtomicReference<JsonNode> found = new AtomicReference<>();
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              JsonNode graph =
                  JsonMapper.builder().build().readTree(get("/api/graph?window=1m").body());
              for (JsonNode edge : graph.get("edges")) {
                if (edge.get("source").asString().equals(WEB)
                    && edge.get("destination").asString().equals(GREETER)
                    && edge.get("requests").asLong() == requests) {
                  found.set(edge);
                }
              }
              assertThat(found.get()).as("the graph API: %s", graph).isNotNull();
            });
    return found.get();
  }

  /** Whether the page's edge shows the API's numbers, as rounded for the label. */
  private static boolean shows(ServiceGraphPage.Edge shown, JsonNode api) {
    try {
      assertThat(shown.requestsPerSecond())
          .isCloseTo(api.get("requestsPerSecond").asDouble(), within(0.0051));
      assertThat(shown.errorPercent())
          .isCloseTo(api.get("errorRatio").asDouble() * 100, within(0.051));
      assertThat(shown.p50Millis()).isCloseTo(api.get("p50Millis").asDouble(), within(0.51));
      assertThat(shown.p99Millis()).isCloseTo(api.get("p99Millis").asDouble(), within(0.51));
      assertThat((double) shown.sharePercent())
          .isCloseTo(api.get("versionShare").asDouble() * 100, within(0.51));
      assertThat(shown.mutualTls())
          .isEqualTo(api.get("connectionSecurity").asString().equals("mutual_tls"));
      return true;
    } catch (AssertionError notYet) {
      return false;
    }
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /**
   * The workload web of namespace demo: a grpc-xds client of greeter, instrumented with
   * grpc-opentelemetry, that exports its metrics to the control plane when asked (flush).
   */
  private final class Web implements AutoCloseable {

    private final OpenTelemetrySdk sdk;
    private final XdsNameResolverProvider resolver;
    private final ManagedChannel channel;

    Web() throws IOException, InterruptedException {
      sdk = StandaloneMetricsSender.sdk("web", "demo", xds.port().orElseThrow());
      String bootstrap = get("/bootstrap?namespace=demo&serviceAccount=web&pod=web-0").body();
      resolver = XdsNameResolverProvider.createForTest("xds-page", parse(bootstrap));
      NameResolverRegistry.getDefaultRegistry().register(resolver);
      ManagedChannelBuilder<?> builder =
          Grpc.newChannelBuilder(
              "xds-page:///greeter.demo.svc.cluster.local:50051",
              InsecureChannelCredentials.create());
      GrpcOpenTelemetry.newBuilder().sdk(sdk).build().configureChannelBuilder(builder);
      channel = builder.build();
    }

    /** Makes {@code calls} calls, then exports what the client recorded. */
    void call(int calls) {
      for (int i = 0; i < calls; i++) {
        var unused =
            ClientCalls.blockingUnaryCall(
                channel,
                Greeter.SAY_HELLO,
                CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
                StringValue.of("page"));
      }
      assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    }

    @Override
    public void close() throws InterruptedException {
      try {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      } finally {
        NameResolverRegistry.getDefaultRegistry().deregister(resolver);
        sdk.close();
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }
}
