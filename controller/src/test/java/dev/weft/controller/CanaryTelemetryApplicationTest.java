package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
import io.grpc.ServerServiceDefinition;
import io.grpc.internal.JsonParser;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
 * The proof, end to end and standalone: a grpc-xds client instrumented with
 * grpc-opentelemetry calls {@code greeter} through a 90/10 canary route with a FaultPolicy that
 * aborts 5 % of calls, and exports OTLP to the control plane. What the collector and {@code
 * /api/graph} say must be what the client saw itself: every call counted once, the errors, the
 * split between greeter-v1 and greeter-v2, and the latency; and the service graph page draws the
 * two versions with their shares.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=0", "weft.ca.port=0"})
class CanaryTelemetryApplicationTest {

  /**
   * Twice the 1,000: the route and the fault pick at random, and at 2,000 calls the bars
   * below (5 % ± 2 errors, 90/10 ± 3) are 4 standard deviations wide, so the test cannot flake on
   * an unlucky draw.
   */
  private static final int CALLS = 2_000;

  private static final int CONCURRENT_CALLS = 10;

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;
  private static final ScheduledExecutorService delays =
      Executors.newSingleThreadScheduledExecutor();
  private static Server greeterV1;
  private static Server greeterV2;

  @LocalServerPort int port;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;
  @Autowired TelemetryCollector collector;

  @BeforeAll
  static void startGreeters() throws IOException {
    greeterV1 = startGreeter("v1");
    greeterV2 = startGreeter("v2");
    Files.writeString(
        configDir.resolve("canary.yaml"), canary(greeterV1.getPort(), greeterV2.getPort()));
  }

  @AfterAll
  static void stopGreeters() throws InterruptedException {
    greeterV1.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    greeterV2.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    delays.shutdownNow();
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void theCollectorSeesTheSplitTheErrorsAndTheLatencyTheClientSaw() throws Exception {
    OpenTelemetrySdk sdk = StandaloneMetricsSender.sdk("web", "demo", xds.port().orElseThrow());
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest(
            "xds-canary",
            parse(get("/bootstrap?namespace=demo&serviceAccount=web&pod=web-0").body()));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannelBuilder<?> channelBuilder =
        Grpc.newChannelBuilder(
            "xds-canary:///greeter.demo.svc.cluster.local:50051",
            InsecureChannelCredentials.create());
    // The optional label says which cluster (backend Service) served each call: the version.
    GrpcOpenTelemetry.newBuilder()
        .sdk(sdk)
        .addOptionalLabel("grpc.lb.backend_service")
        .build()
        .configureChannelBuilder(channelBuilder);
    ManagedChannel channel = channelBuilder.build();
    ClientView client;
    try {
      client = call(channel);
      assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
      sdk.close();
    }
    System.out.printf(
        "client: %s by version, %d errors, p99 %.1f ms%n",
        client.byVersion, client.errors.get(), percentile(client.millis, 0.99));
    // What the client saw is the canary: 90/10 ± 3 and 5 % ± 2 errors.
    long served = client.byVersion.values().stream().mapToLong(AtomicLong::get).sum();
    assertThat(served + client.errors.get()).isEqualTo(CALLS);
    assertThat((double) client.errors.get() / CALLS).isCloseTo(0.05, within(0.02));
    assertThat((double) client.byVersion.get("v2").get() / served).isCloseTo(0.10, within(0.03));

    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    System.out.println("collector: " + edges);
    long requests = edges.stream().mapToLong(EdgeStats::requests).sum();
    long errors = edges.stream().mapToLong(EdgeStats::errors).sum();
    assertThat(requests).isBetween(CALLS - 1L, CALLS + 1L);
    assertThat(errors).isBetween(client.errors.get() - 1, client.errors.get() + 1);
    for (String version : List.of("v1", "v2")) {
      EdgeStats edge = edge(edges, version);
      assertThat(edge.requests() - edge.errors())
          .as(version)
          .isBetween(
              client.byVersion.get(version).get() - 1, client.byVersion.get(version).get() + 1);
    }
    double clientP99 = percentile(client.millis, 0.99);
    double collectorP99 = p99(edges);
    assertThat(collectorP99).isCloseTo(clientP99, within(clientP99 * 0.2));

    // The graph API says the same, with the share of each version.
    JsonNode graph = JsonMapper.builder().build().readTree(get("/api/graph?window=1m").body());
    Map<String, JsonNode> byVersion = new ConcurrentHashMap<>();
    graph
        .get("edges")
        .valueStream()
        .filter(e -> e.get("source").asString().equals("workload:demo/web"))
        .forEach(e -> byVersion.put(e.get("destinationVersion").asString(), e));
    assertThat(byVersion).containsKeys("v1", "v2");
    assertThat(byVersion.get("v1").get("destination").asString())
        .isEqualTo("service:greeter.demo.svc.cluster.local");
    double v2Share = byVersion.get("v2").get("versionShare").asDouble();
    double clientV2Share =
        (double) client.byVersion.get("v2").get() / (CALLS - client.errors.get());
    assertThat(v2Share).isCloseTo(clientV2Share, within(0.01));
    assertThat(byVersion.get("v1").get("versionShare").asDouble() + v2Share)
        .isCloseTo(1.0 - share(byVersion, "unknown"), within(0.001));

    // And the page draws the two versions of greeter with those shares, in a real browser.
    try (HeadlessChromium chromium = HeadlessChromium.start()) {
      ServiceGraphPage page =
          ServiceGraphPage.open(
              chromium.driver(), "http://127.0.0.1:" + port, Duration.ofSeconds(30));
      for (String version : List.of("v1", "v2")) {
        JsonNode api = byVersion.get(version);
        ServiceGraphPage.Edge drawn =
            page.awaitEdge(
                "workload:demo/web", "service:greeter.demo.svc.cluster.local", version, e -> true);
        assertThat(drawn.label()).startsWith(version + " · ");
        assertThat(drawn.sharePercent())
            .as(drawn.label())
            .isEqualTo((int) Math.round(api.get("versionShare").asDouble() * 100));
        assertThat(drawn.errorPercent()).isZero();
      }
    }
  }

  /** What the client saw: calls per backend version, failed calls, and each call's latency. */
  private record ClientView(
      Map<String, AtomicLong> byVersion, AtomicLong errors, List<Double> millis) {}

  /**
   * Calls greeter {@value #CALLS} times, {@value #CONCURRENT_CALLS} at a time, each asking the
   * backend to wait 0-49 ms so latencies spread over the histogram's buckets.
   */
  private static ClientView call(ManagedChannel channel) throws Exception {
    ClientView view =
        new ClientView(
            Map.of("v1", new AtomicLong(), "v2", new AtomicLong()),
            new AtomicLong(),
            Collections.synchronizedList(new ArrayList<>()));
    Semaphore inFlight = new Semaphore(CONCURRENT_CALLS);
    List<CompletableFuture<Void>> calls = new ArrayList<>();
    for (int i = 0; i < CALLS; i++) {
      assertThat(inFlight.tryAcquire(30, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<Void> done = new CompletableFuture<>();
      long start = System.nanoTime();
      ClientCalls.asyncUnaryCall(
          channel.newCall(
              Greeter.SAY_HELLO, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)),
          StringValue.of(Integer.toString(i % 50)),
          new StreamObserver<StringValue>() {
            @Override
            public void onNext(StringValue greeting) {
              view.byVersion.get(Greeter.backendOf(greeting)).incrementAndGet();
            }

            @Override
            public void onError(Throwable t) {
              view.errors.incrementAndGet();
              finish();
            }

            @Override
            public void onCompleted() {
              finish();
            }

            private void finish() {
              view.millis.add((System.nanoTime() - start) / 1e6);
              inFlight.release();
              done.complete(null);
            }
          });
      calls.add(done);
      // The first call waits for the route and clusters; it is counted like the others.
      if (i == 0) {
        done.get(30, TimeUnit.SECONDS);
      }
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return view;
  }

  private static EdgeStats edge(List<EdgeStats> edges, String version) {
    return edges.stream()
        .filter(
            e ->
                e.edge().sourceWorkload().equals("web")
                    && e.edge().destinationService().equals("greeter.demo.svc.cluster.local")
                    && e.edge().destinationVersion().equals(version))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no edge to greeter " + version + ": " + edges));
  }

  /**
   * The p99 of the edge that carries most calls (greeter-v1's 90 %). The client's own p99 covers
   * every call, but the others differ from these only by the aborted ones, which fail at once, far
   * below any p99, and by greeter-v2's, which are served alike.
   */
  private static double p99(List<EdgeStats> edges) {
    return edges.stream()
        .max((a, b) -> Long.compare(a.requests(), b.requests()))
        .orElseThrow()
        .p99Millis();
  }

  private static double share(Map<String, JsonNode> byVersion, String version) {
    JsonNode edge = byVersion.get(version);
    return edge == null ? 0 : edge.get("versionShare").asDouble();
  }

  /** A greeter backend that answers "hello N from VERSION" after N milliseconds. */
  private static Server startGreeter(String version) throws IOException {
    ServerServiceDefinition service =
        ServerServiceDefinition.builder(Greeter.SERVICE)
            .addMethod(
                Greeter.SAY_HELLO,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      int millis = Integer.parseInt(request.getValue());
                      var unused =
                          delays.schedule(
                              () -> {
                                response.onNext(
                                    StringValue.of(
                                        "hello " + request.getValue() + " from " + version));
                                response.onCompleted();
                              },
                              millis,
                              TimeUnit.MILLISECONDS);
                    }))
            .build();
    return Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(service)
        .build()
        .start();
  }

  /**
   * The demo's canary (examples/demo/canary.yaml) on this test's backends, and a FaultPolicy that
   * aborts 5 % of the calls to greeter.
   */
  private static String canary(int v1Port, int v2Port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: greeter, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        """
        + GreeterManifest.version("greeter-v1", "v1", v1Port)
        + "---\n"
        + GreeterManifest.version("greeter-v2", "v2", v2Port)
        + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: greeter-canary, namespace: demo}
        spec:
          parentRefs: [{group: "", kind: Service, name: greeter, port: 50051}]
          rules:
            - backendRefs:
                - {name: greeter-v1, port: 50051, weight: 90}
                - {name: greeter-v2, port: 50051, weight: 10}
        ---
        apiVersion: mesh.weft.dev/v1alpha1
        kind: FaultPolicy
        metadata: {name: greeter-chaos, namespace: demo}
        spec:
          targetRefs: [{group: "", kind: Service, name: greeter}]
          abort: {grpcStatus: UNAVAILABLE, percentage: 5}
        """;
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static double percentile(List<Double> values, double quantile) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get((int) Math.ceil(quantile * sorted.size()) - 1);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }
}
