package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What a broken or hostile sender gets: a clear refusal, and no more memory than the bounds. */
class OtlpReceiverBadInputTest {

  private static final int MAX_SERIES = 5;
  private static final int MAX_TRACKED_SERIES = 20;

  private static final MethodDescriptor<byte[], byte[]> RAW_EXPORT =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MetricsServiceGrpc.getExportMethod().getFullMethodName())
          .setRequestMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
          .setResponseMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
          .build();

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private TelemetryCollector collector;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws IOException {
    collector =
        TelemetryCollector.builder(
                meters,
                // Every svc-N.shop is a service of the mesh; nothing else is.
                target ->
                    target.host().matches("svc-[0-9]+\\.shop")
                        ? Optional.of(
                            new Destination(
                                target.host(),
                                Destination.UNKNOWN_VERSION,
                                Destination.ConnectionSecurity.NONE))
                        : Optional.empty())
            .maxSeries(MAX_SERIES)
            .maxTrackedSeries(MAX_TRACKED_SERIES, Duration.ofMinutes(10))
            .maxDataPointsPerExport(200)
            .maxExportBytes(64 * 1024)
            .build();
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(collector.metricsService())
            .maxInboundMessageSize(collector.maxExportBytes())
            .build()
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  void bytesThatAreNotOtlpAreRefusedAsInvalid() {
    assertThatThrownBy(
            () ->
                ClientCalls.blockingUnaryCall(
                    channel,
                    RAW_EXPORT,
                    CallOptions.DEFAULT,
                    "this is not protobuf".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            refused -> {
              assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(refused.getStatus().getDescription())
                  .startsWith("not an OTLP ExportMetricsServiceRequest");
            });
    assertThat(exports("invalid")).isEqualTo(1);
  }

  @Test
  void anExportLargerThanTheLimitIsRefusedBeforeItIsRead() {
    assertThatThrownBy(
            () ->
                ClientCalls.blockingUnaryCall(
                    channel, RAW_EXPORT, CallOptions.DEFAULT, new byte[100 * 1024]))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            refused -> {
              assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(refused.getStatus().getDescription()).contains("65536");
            });
  }

  @Test
  void tooManyDataPointsAreRefusedWithTheLimit() {
    Histogram.Builder histogram =
        Histogram.newBuilder()
            .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE);
    for (int i = 0; i < 201; i++) {
      histogram.addDataPoints(
          point("dns:///svc-1.shop:80", "OK", 1, List.of(0.1), List.of(1L, 0L)));
    }

    assertThatThrownBy(() -> export(histogram.build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            refused -> {
              assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
              assertThat(refused.getStatus().getDescription())
                  .contains("201 data points")
                  .contains("at most 200");
            });
  }

  @Test
  void malformedHistogramsAreRefusedNamingWhatIsWrongAndNothingIsCounted() {
    assertRefused(
        cumulative(point("dns:///svc-1.shop:80", "OK", 3, List.of(0.1), List.of(1L, 1L))),
        "grpc.client.attempt.duration: bucket counts add up to 2 but the data point's count is 3");
    assertRefused(
        cumulative(point("dns:///svc-1.shop:80", "OK", 2, List.of(), List.of(1L, 1L))),
        "grpc.client.attempt.duration: a data point has 2 bucket counts for 0 explicit bounds");
    assertRefused(
        cumulative(point("dns:///svc-1.shop:80", "FINE", 1, List.of(0.1), List.of(1L, 0L))),
        "grpc.status 'FINE' is not a gRPC status code name");
    assertRefused(
        cumulative(
            point("dns:///svc-1.shop:80", "OK", 1, List.of(0.1), List.of(1L, 0L)).toBuilder()
                .removeAttributes(0)
                .build()),
        "a data point has no grpc.target attribute");

    assertThat(collector.series()).isZero();
    assertThat(exports("invalid")).isEqualTo(4);
  }

  @Test
  void aSenderInventingATargetPerRequestCreatesNoMoreSeriesThanTheBound() {
    OpenTelemetrySdk sdk = sdk();
    DoubleHistogram attempts =
        sdk.getMeter("grpc-java")
            .histogramBuilder(OtlpMetricsReceiver.CLIENT_ATTEMPT_DURATION)
            .setUnit("s")
            .build();
    for (int request = 0; request < 100; request++) {
      attempts.record(0.002, attributes("dns:///svc-" + request + ".shop:80", "grpc.Echo/Echo"));
    }
    assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
        .isTrue();

    assertThat(collector.series()).isEqualTo(MAX_SERIES);
    assertThat(GoldenScrape.of(collector).find("weft_requests_total")).hasSize(MAX_SERIES);
    // Every point past the bounds is counted: first the cumulative state (20 series remembered),
    // then the golden series (5 of those 20 kept).
    assertThat(overflow("cumulative")).isEqualTo(100 - MAX_TRACKED_SERIES);
    assertThat(overflow("golden")).isEqualTo(MAX_TRACKED_SERIES - MAX_SERIES);
    sdk.close();
  }

  @Test
  void aSenderInventingAMethodPerRequestIsBoundedByTheTrackedSeries() {
    OpenTelemetrySdk sdk = sdk();
    DoubleHistogram attempts =
        sdk.getMeter("grpc-java")
            .histogramBuilder(OtlpMetricsReceiver.CLIENT_ATTEMPT_DURATION)
            .setUnit("s")
            .build();
    for (int request = 0; request < 100; request++) {
      attempts.record(0.002, attributes("dns:///svc-1.shop:80", "grpc.Echo/Method" + request));
    }
    assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
        .isTrue();

    // One golden series (the method is not one of its labels); cumulative state for 20 only.
    assertThat(collector.series()).isEqualTo(1);
    assertThat(overflow("cumulative")).isEqualTo(100 - MAX_TRACKED_SERIES);
    assertThat(GoldenScrape.of(collector).sum("weft_requests_total")).isEqualTo(MAX_TRACKED_SERIES);
    sdk.close();
  }

  @Test
  void targetsTheMeshDoesNotKnowAreCountedNotKept() {
    assertThat(
            export(cumulative(point("dns:///elsewhere:80", "OK", 1, List.of(0.1), List.of(1L, 0L))))
                .getPartialSuccess()
                .getRejectedDataPoints())
        .isEqualTo(1);

    assertThat(collector.series()).isZero();
    assertThat(meters.get("weft.telemetry.destinations.unknown").counter().count()).isEqualTo(1);
  }

  private void assertRefused(Histogram histogram, String reason) {
    assertThatThrownBy(() -> export(histogram))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            refused -> {
              assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(refused.getStatus().getDescription()).contains(reason);
            });
  }

  private io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse export(
      Histogram histogram) {
    return MetricsServiceGrpc.newBlockingStub(channel)
        .export(
            ExportMetricsServiceRequest.newBuilder()
                .addResourceMetrics(
                    ResourceMetrics.newBuilder()
                        .addScopeMetrics(
                            ScopeMetrics.newBuilder()
                                .addMetrics(
                                    Metric.newBuilder()
                                        .setName(OtlpMetricsReceiver.CLIENT_ATTEMPT_DURATION)
                                        .setUnit("s")
                                        .setHistogram(histogram))))
                .build());
  }

  private static Histogram cumulative(HistogramDataPoint point) {
    return Histogram.newBuilder()
        .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE)
        .addDataPoints(point)
        .build();
  }

  private static HistogramDataPoint point(
      String target, String status, long count, List<Double> bounds, List<Long> buckets) {
    return HistogramDataPoint.newBuilder()
        .addAttributes(stringAttribute("grpc.target", target))
        .addAttributes(stringAttribute("grpc.status", status))
        .addAttributes(stringAttribute("grpc.method", "grpc.Echo/Echo"))
        .setStartTimeUnixNano(1)
        .setCount(count)
        .addAllExplicitBounds(bounds)
        .addAllBucketCounts(buckets)
        .build();
  }

  private static KeyValue stringAttribute(String key, String value) {
    return KeyValue.newBuilder()
        .setKey(key)
        .setValue(AnyValue.newBuilder().setStringValue(value))
        .build();
  }

  private static Attributes attributes(String target, String method) {
    return Attributes.of(
        AttributeKey.stringKey("grpc.target"), target,
        AttributeKey.stringKey("grpc.method"), method,
        AttributeKey.stringKey("grpc.status"), "OK");
  }

  private OpenTelemetrySdk sdk() {
    return OpenTelemetrySdk.builder()
        .setMeterProvider(
            SdkMeterProvider.builder()
                .setResource(
                    Resource.getDefault()
                        .merge(
                            Resource.create(
                                Attributes.of(AttributeKey.stringKey("service.name"), "web"))))
                .registerMetricReader(
                    PeriodicMetricReader.builder(
                            OtlpGrpcMetricExporter.builder()
                                .setEndpoint("http://127.0.0.1:" + server.getPort())
                                .build())
                        .setInterval(Duration.ofHours(1))
                        .build())
                .build())
        .build();
  }

  private double exports(String outcome) {
    return meters.get("weft.telemetry.exports").tag("outcome", outcome).counter().count();
  }

  private double overflow(String stage) {
    return meters.get("weft.telemetry.series.overflow").tag("stage", stage).counter().count();
  }
}
