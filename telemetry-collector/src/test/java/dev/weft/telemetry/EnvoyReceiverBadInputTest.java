package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.service.metrics.v3.MetricsServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.client.Metrics.Bucket;
import io.prometheus.client.Metrics.Histogram;
import io.prometheus.client.Metrics.Metric;
import io.prometheus.client.Metrics.MetricFamily;
import io.prometheus.client.Metrics.MetricType;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a broken or hostile Envoy stream gets: a status naming the field and the reason, nothing of
 * the bad message counted, and no more series than the bounds.
 */
class EnvoyReceiverBadInputTest {

  private static final int MAX_SERIES = 5;
  private static final int MAX_METRICS = 200;
  private static final Node SIDECAR = EnvoyMessages.node("web-0", "shop", "web", "v1");

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private TelemetryCollector collector;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
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
            .maxTrackedSeries(20, Duration.ofMinutes(10))
            .maxDataPointsPerExport(MAX_METRICS)
            .maxExportBytes(64 * 1024)
            .build();
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addServices(collector.services())
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
  void bytesThatAreNotAMetricsMessageAreRefusedAsInvalid() throws Exception {
    MethodDescriptor<byte[], byte[]> raw =
        MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
            .setFullMethodName(MetricsServiceGrpc.getStreamMetricsMethod().getFullMethodName())
            .setRequestMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
            .setResponseMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
            .build();
    ClientCall<byte[], byte[]> call = channel.newCall(raw, CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage("this is not protobuf".getBytes(StandardCharsets.UTF_8));
    call.halfClose();

    Status status = closed.get(30, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).startsWith("not an Envoy StreamMetricsMessage");
    assertThat(messages("metrics", "invalid")).isEqualTo(1);
  }

  @Test
  void aStreamWhoseFirstMessageHasNoIdentifierIsRefusedAndNothingCounted() throws Exception {
    Status status =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(new EnvoyMessages.Flush().cluster("svc-1.shop:80", 10, 0, ms(10)).next()));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("identifier.node is missing");
    assertThat(requests()).isZero();
  }

  @Test
  void aCounterThatIsNotACounterRefusesTheWholeMessage() throws Exception {
    Status status =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(
                new EnvoyMessages.Flush()
                    .cluster("svc-1.shop:80", 10, 0, ms(10))
                    .family(EnvoyMessages.gauge("cluster.svc-2.shop:80.upstream_rq_2xx", 4))
                    .first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("cluster.svc-2.shop:80.upstream_rq_2xx")
        .contains("must be a COUNTER");
    // svc-1's good stats came in the same message: not counted either.
    assertThat(requests()).isZero();
  }

  @Test
  void aHistogramWhoseBucketsGoDownIsRefused() throws Exception {
    MetricFamily broken =
        MetricFamily.newBuilder()
            .setName("cluster.svc-1.shop:80.upstream_rq_time")
            .setType(MetricType.HISTOGRAM)
            .addMetric(
                Metric.newBuilder()
                    .setHistogram(
                        Histogram.newBuilder()
                            .setSampleCount(5)
                            .addBucket(Bucket.newBuilder().setUpperBound(1).setCumulativeCount(4))
                            .addBucket(Bucket.newBuilder().setUpperBound(5).setCumulativeCount(2))))
            .build();
    Status status =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(
                new EnvoyMessages.Flush()
                    .family(EnvoyMessages.counter("cluster.svc-1.shop:80.upstream_rq_total", 5))
                    .family(EnvoyMessages.counter("cluster.svc-1.shop:80.upstream_rq_2xx", 5))
                    .family(broken)
                    .first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("envoy_metrics[2] (cluster.svc-1.shop:80.upstream_rq_time)")
        .contains("must not decrease");
    assertThat(requests()).isZero();
  }

  @Test
  void moreRequestStatsThanTheBoundAreRefusedAsTooLarge() throws Exception {
    EnvoyMessages.Flush flush = new EnvoyMessages.Flush();
    for (int i = 0; i <= MAX_METRICS; i++) {
      flush.family(EnvoyMessages.counter("cluster.c" + i + ".upstream_rq_total", i));
    }
    Status status = EnvoyStreams.streamMetrics(channel, List.of(flush.first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).contains("more than " + MAX_METRICS + " request stats");
    assertThat(messages("metrics", "too_large")).isEqualTo(1);
  }

  @Test
  void theStatsOfClustersNeverCalledDoNotCountAgainstTheBound() throws Exception {
    // A sidecar that sees a large mesh keeps a few stats of every cluster it knows.
    EnvoyMessages.Flush flush = new EnvoyMessages.Flush();
    for (int i = 0; i < 3 * MAX_METRICS; i++) {
      flush.family(EnvoyMessages.gauge("cluster.c" + i + ".membership_total", 1));
    }
    flush.cluster("svc-1.shop:80", 4, 0, ms(4));
    Status status = EnvoyStreams.streamMetrics(channel, List.of(flush.first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(requests()).isEqualTo(4);
  }

  @Test
  void aMessageOverTheSizeLimitIsRefusedBeforeItIsRead() throws Exception {
    Status status =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(
                new EnvoyMessages.Flush()
                    .family(EnvoyMessages.counter("cluster." + "x".repeat(70_000) + ".a", 1))
                    .first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(requests()).isZero();
  }

  @Test
  void aSenderInventingClustersCreatesNoMoreSeriesThanTheBound() throws Exception {
    EnvoyMessages.Flush flush = new EnvoyMessages.Flush();
    for (int i = 0; i < 12; i++) {
      flush.cluster("svc-" + i + ".shop:80", 3, 0, ms(3));
    }
    Status status = EnvoyStreams.streamMetrics(channel, List.of(flush.first(SIDECAR)));

    assertThat(status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(collector.series()).isEqualTo(MAX_SERIES);
    assertThat(
            meters.get("weft.telemetry.series.overflow").tag("stage", "golden").counter().count())
        .isEqualTo(12 - MAX_SERIES);
  }

  @Test
  void anAccessLogOfAnotherListenerIsRefusedNamingItsLogName() throws Exception {
    Status status =
        EnvoyStreams.streamAccessLogs(
            channel,
            List.of(
                EnvoyMessages.identifier(SIDECAR, "my-outbound-log"),
                EnvoyMessages.logs(List.of(entry("svc-1.shop:80", "0")))));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("identifier.log_name is \"my-outbound-log\"")
        .contains("weft/inbound");
    assertThat(requests()).isZero();
  }

  @Test
  void anAccessLogStreamWithoutANodeIsRefused() throws Exception {
    Status status =
        EnvoyStreams.streamAccessLogs(
            channel, List.of(EnvoyMessages.logs(List.of(entry("svc-1.shop:80", "0")))));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("identifier.node is missing");
  }

  @Test
  void aGrpcStatusThatIsNoCodeRefusesTheBatchNamingTheEntry() throws Exception {
    List<HTTPAccessLogEntry> entries = new ArrayList<>();
    entries.add(entry("svc-1.shop:80", "0"));
    entries.add(entry("svc-1.shop:80", "banana"));
    Status status =
        EnvoyStreams.streamAccessLogs(
            channel,
            List.of(
                EnvoyMessages.identifier(SIDECAR, EnvoyAccessLogReceiver.INBOUND_LOG_NAME),
                EnvoyMessages.logs(entries)));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("http_logs.log_entry[1].response.response_trailers[grpc-status] \"banana\"");
    assertThat(requests()).isZero();
  }

  @Test
  void anAuthorityTheRegistryDoesNotKnowIsCountedNotKept() throws Exception {
    Status status =
        EnvoyStreams.streamAccessLogs(
            channel,
            List.of(
                EnvoyMessages.identifier(SIDECAR, EnvoyAccessLogReceiver.INBOUND_LOG_NAME),
                EnvoyMessages.logs(
                    List.of(
                        entry("evil-" + "a".repeat(40) + ".example:80", "0"),
                        entry("svc-1.shop:80", "0")))));

    assertThat(status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(requests()).isEqualTo(1);
    assertThat(meters.get("weft.telemetry.destinations.unknown").counter().count()).isEqualTo(1);
  }

  private static HTTPAccessLogEntry entry(String authority, String grpcStatus) {
    return EnvoyMessages.inboundEntry(
        "spiffe://cluster.local/ns/shop/sa/web", authority, 200, grpcStatus, 2.0);
  }

  private static List<Double> ms(int count) {
    List<Double> millis = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      millis.add(2.0);
    }
    return millis;
  }

  private double requests() {
    return GoldenScrape.of(collector).sum("weft_requests_total");
  }

  private double messages(String service, String outcome) {
    return meters
        .get("weft.telemetry.envoy.messages")
        .tags("service", service, "outcome", outcome)
        .counter()
        .count();
  }
}
