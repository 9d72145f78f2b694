package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real grpc-java client and server, instrumented with grpc-opentelemetry and the OpenTelemetry
 * SDK, export OTLP over real gRPC (loopback) to the collector; the golden metrics must match what
 * the client saw.
 */
class GrpcOpenTelemetryExportTest {

  private static final int CALLS = 1_000;

  private static final int CONCURRENT_CALLS = 10;

  /** Every 20th call fails: 5 %. */
  private static final int FAILING_EVERY = 20;

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("weft.test.Echo/Echo")
          .setRequestMarshaller(new BytesMarshaller())
          .setResponseMarshaller(new BytesMarshaller())
          // grpc-opentelemetry names only such methods in grpc.method (others are "other").
          .setSampledToLocalTracing(true)
          .build();

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor();
  private TelemetryCollector collector;
  private int collectorPort;
  private int greeterPort;

  @BeforeEach
  void startCollector() throws IOException {
    collector =
        TelemetryCollector.builder(
                meters,
                target ->
                    target.host().equals("127.0.0.1") && target.port() == greeterPort
                        ? Optional.of(
                            new Destination(
                                "greeter.shop.svc.cluster.local",
                                "v1",
                                Destination.ConnectionSecurity.NONE))
                        : Optional.empty())
            .build();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(collector.metricsService())
            .maxInboundMessageSize(collector.maxExportBytes())
            .build()
            .start();
    cleanup.add(() -> shutdown(server));
    collectorPort = server.getPort();
  }

  @AfterEach
  void stopEverything() throws Exception {
    Collections.reverse(cleanup);
    for (AutoCloseable closeable : cleanup) {
      closeable.close();
    }
    delays.shutdownNow();
  }

  @Test
  void theCollectorCountsWhatTheClientSaw() throws Exception {
    OpenTelemetrySdk greeterSdk = sdk("greeter", "v1");
    Server greeter = startGreeter(greeterSdk);
    greeterPort = greeter.getPort();
    OpenTelemetrySdk webSdk = sdk("web", "v3");
    ManagedChannelBuilder<?> channelBuilder =
        ManagedChannelBuilder.forAddress("127.0.0.1", greeterPort).usePlaintext();
    GrpcOpenTelemetry.newBuilder().sdk(webSdk).build().configureChannelBuilder(channelBuilder);
    ManagedChannel channel = channelBuilder.build();
    cleanup.add(() -> shutdown(channel));

    // The first call pays for the connection (and a cold JVM); it is counted like any other.
    var unused =
        ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT, new byte[] {1, 0});
    List<Double> clientMillis = callGreeter(channel);
    // Each SDK exports what it has now: no waiting for a timer.
    assertThat(webSdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
        .isTrue();
    assertThat(greeterSdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
        .isTrue();

    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    assertThat(edges).hasSize(1);
    EdgeStats edge = edges.get(0);
    assertThat(edge.edge())
        .isEqualTo(
            new EdgeStats.Edge("web", "shop", "greeter.shop.svc.cluster.local", "v1", "none"));
    // CALLS + 1 calls were made (the first one above), and each is counted once, ± 1.
    assertThat(edge.requests()).isBetween((long) CALLS, CALLS + 2L);
    assertThat(edge.errors()).isEqualTo(CALLS / FAILING_EVERY);
    assertThat(edge.errorRatio()).isCloseTo(0.05, within(0.02));
    double clientP99 = percentile(clientMillis, 0.99);
    System.out.printf(
        "p99: collector %.1f ms, client %.1f ms; p50: collector %.1f ms, client %.1f ms%n",
        edge.p99Millis(), clientP99, edge.p50Millis(), percentile(clientMillis, 0.5));
    // The bar: within 20 % of what the client measured itself.
    assertThat(edge.p99Millis()).isCloseTo(clientP99, within(clientP99 * 0.2));
    double clientP50 = percentile(clientMillis, 0.5);
    assertThat(edge.p50Millis()).isCloseTo(clientP50, within(clientP50 * 0.2));

    // What Prometheus scrapes: Istio's names and labels.
    assertThat(requests("reporter", "source", "grpc_response_status", "0"))
        .isEqualTo(CALLS + 1 - CALLS / FAILING_EVERY);
    assertThat(requests("reporter", "source", "grpc_response_status", "9"))
        .isEqualTo(CALLS / FAILING_EVERY);
    GoldenScrape scrape = GoldenScrape.of(collector);
    assertThat(
            scrape.find(
                "weft_requests_total",
                "source_workload",
                "web",
                "source_workload_namespace",
                "shop",
                "destination_service",
                "greeter.shop.svc.cluster.local",
                "destination_version",
                "v1",
                "grpc_response_status",
                "0",
                "response_code",
                "200",
                "connection_security_policy",
                "none"))
        .hasSize(1);
    // The latency histogram, in milliseconds: its +Inf bucket and _count are the requests.
    assertThat(
            scrape.sum(
                "weft_request_duration_milliseconds_bucket", "reporter", "source", "le", "+Inf"))
        .isEqualTo(CALLS + 1);
    assertThat(scrape.sum("weft_request_duration_milliseconds_count", "reporter", "source"))
        .isEqualTo(CALLS + 1);
    assertThat(scrape.find("weft_request_duration_milliseconds_sum", "reporter", "source"))
        .isNotEmpty();
    // The server's own report: it knows itself (and its version), not its callers.
    assertThat(
            requests(
                "reporter", "destination",
                "destination_workload", "greeter",
                "destination_workload_namespace", "shop",
                "destination_version", "v1"))
        .isEqualTo(CALLS + 1);
  }

  @Test
  void aSecondExportCountsOnlyTheNewCalls() throws Exception {
    Server greeter = startGreeter(null);
    greeterPort = greeter.getPort();
    OpenTelemetrySdk webSdk = sdk("web", "v3");
    ManagedChannelBuilder<?> channelBuilder =
        ManagedChannelBuilder.forAddress("127.0.0.1", greeterPort).usePlaintext();
    GrpcOpenTelemetry.newBuilder().sdk(webSdk).build().configureChannelBuilder(channelBuilder);
    ManagedChannel channel = channelBuilder.build();
    cleanup.add(() -> shutdown(channel));

    for (int round = 1; round <= 3; round++) {
      for (int i = 0; i < 10; i++) {
        var unused =
            ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT, new byte[] {1, 0});
      }
      assertThat(webSdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
      // Cumulative totals 10, 20, 30 arrive; the collector counts each call once.
      assertThat(requests("reporter", "source")).isEqualTo(10.0 * round);
    }
  }

  /**
   * Makes the calls, {@value #CONCURRENT_CALLS} at a time so that latencies are the server's (0-49
   * ms) rather than a queue's, and returns what the client measured for each.
   */
  private List<Double> callGreeter(ManagedChannel channel) throws Exception {
    List<CompletableFuture<Double>> calls = new ArrayList<>();
    Semaphore inFlight = new Semaphore(CONCURRENT_CALLS);
    for (int i = 0; i < CALLS; i++) {
      assertThat(inFlight.tryAcquire(30, TimeUnit.SECONDS)).isTrue();
      byte[] request = {(byte) (i % FAILING_EVERY), (byte) (i % 50)};
      CompletableFuture<Double> millis = new CompletableFuture<>();
      long start = System.nanoTime();
      ClientCalls.asyncUnaryCall(
          channel.newCall(ECHO, CallOptions.DEFAULT),
          request,
          new StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] value) {}

            @Override
            public void onError(Throwable t) {
              millis.complete((System.nanoTime() - start) / 1e6);
              inFlight.release();
            }

            @Override
            public void onCompleted() {
              millis.complete((System.nanoTime() - start) / 1e6);
              inFlight.release();
            }
          });
      calls.add(millis);
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    List<Double> result = new ArrayList<>();
    for (CompletableFuture<Double> call : calls) {
      result.add(call.join());
    }
    return result;
  }

  /**
   * The greeter answers after (second request byte) milliseconds, so latencies spread over 0-49 ms;
   * it fails a request whose first byte is 0 with FAILED_PRECONDITION (not retried by gRPC).
   */
  private Server startGreeter(OpenTelemetrySdk sdk) throws IOException {
    ServerBuilder<?> builder =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerServiceDefinition.builder("weft.test.Echo")
                    .addMethod(
                        ECHO,
                        ServerCalls.asyncUnaryCall(
                            (request, responses) -> {
                              var unused =
                                  delays.schedule(
                                      () -> {
                                        if (request[0] == 0) {
                                          responses.onError(
                                              Status.FAILED_PRECONDITION.asRuntimeException());
                                        } else {
                                          responses.onNext(request);
                                          responses.onCompleted();
                                        }
                                      },
                                      request[1],
                                      TimeUnit.MILLISECONDS);
                            }))
                    .build());
    if (sdk != null) {
      GrpcOpenTelemetry.newBuilder().sdk(sdk).build().configureServerBuilder(builder);
    }
    Server server = builder.build().start();
    cleanup.add(() -> shutdown(server));
    return server;
  }

  /**
   * An OpenTelemetry SDK exporting OTLP/gRPC to the collector, standalone-style: who it is comes
   * from its resource (no mTLS certificate here). It exports only when the test flushes it.
   */
  private OpenTelemetrySdk sdk(String service, String version) {
    OpenTelemetrySdk sdk =
        OpenTelemetrySdk.builder()
            .setMeterProvider(
                SdkMeterProvider.builder()
                    .setResource(
                        Resource.getDefault()
                            .merge(
                                Resource.create(
                                    Attributes.of(
                                        AttributeKey.stringKey("service.name"), service,
                                        AttributeKey.stringKey("service.version"), version,
                                        AttributeKey.stringKey("k8s.namespace.name"), "shop"))))
                    .registerMetricReader(
                        PeriodicMetricReader.builder(
                                OtlpGrpcMetricExporter.builder()
                                    .setEndpoint("http://127.0.0.1:" + collectorPort)
                                    .build())
                            .setInterval(Duration.ofHours(1))
                            .build())
                    .build())
            .build();
    cleanup.add(sdk::close);
    return sdk;
  }

  private double requests(String... tags) {
    return GoldenScrape.of(collector).sum("weft_requests_total", tags);
  }

  private static double percentile(List<Double> values, double quantile) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get((int) Math.ceil(quantile * sorted.size()) - 1);
  }

  private static void shutdown(Server server) throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  private static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
  }

  static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
