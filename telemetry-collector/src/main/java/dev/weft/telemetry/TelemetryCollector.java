package dev.weft.telemetry;

import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Weft's telemetry collector: receivers (OTLP metrics from proxyless gRPC workloads, Envoy's
 * Metrics Service and Access Log Service from sidecars and gateways) whose reports become
 * service-to-service golden metrics, written in the Prometheus text format ({@link
 * #writePrometheusText}) and kept in a sliding window for the service graph. The application serves
 * {@link #services()} on a gRPC server of its own (on a mutual TLS port, so the reporter is who its
 * certificate says), adds the golden metrics to its Prometheus scrape and reads {@link #edges}. The
 * collector's own counters (exports, overflow, unknown destinations) are Micrometer meters.
 */
public final class TelemetryCollector {

  private final OtlpMetricsReceiver receiver;
  private final EnvoyMetricsReceiver envoyMetrics;
  private final EnvoyAccessLogReceiver envoyAccessLogs;
  private final GoldenMetrics golden;
  private final PeerIdentities peers;
  private final int maxExportBytes;
  private final Duration window;

  private TelemetryCollector(Builder builder) {
    this.golden =
        new GoldenMetrics(
            builder.meters, builder.clock, builder.maxSeries, builder.window, builder.windowSlot);
    // One bound on remembered cumulative series, whichever receiver's senders fill it.
    CumulativeDeltas deltas =
        new CumulativeDeltas(
            builder.maxTrackedSeries, builder.trackedSeriesIdleAfter, builder.clock);
    this.receiver =
        new OtlpMetricsReceiver(
            golden, deltas, builder.destinations, builder.maxDataPointsPerExport, builder.meters);
    this.peers = new PeerIdentities(builder.trustDomain, builder.requireCertificate);
    this.envoyMetrics =
        new EnvoyMetricsReceiver(
            golden, deltas, builder.destinations, builder.maxDataPointsPerExport, builder.meters);
    this.envoyAccessLogs =
        new EnvoyAccessLogReceiver(
            golden, builder.destinations, peers, builder.maxDataPointsPerExport, builder.meters);
    this.maxExportBytes = builder.maxExportBytes;
    this.window = builder.window;
  }

  public static Builder builder(MeterRegistry meters, DestinationResolver destinations) {
    return new Builder(meters, destinations);
  }

  /**
   * {@code opentelemetry.proto.collector.metrics.v1.MetricsService}, reading the caller's identity
   * from its mTLS certificate when it has one.
   */
  public ServerServiceDefinition metricsService() {
    return ServerInterceptors.intercept(receiver.service(), peers);
  }

  /**
   * Envoy's {@code envoy.service.metrics.v3.MetricsService}: a proxy's cluster stats, as the calls
   * its workload made ({@code reporter="source"}).
   */
  public ServerServiceDefinition envoyMetricsService() {
    return ServerInterceptors.intercept(envoyMetrics.service(), peers);
  }

  /**
   * Envoy's {@code envoy.service.accesslog.v3.AccessLogService}: a sidecar's inbound requests, as
   * the calls its workload served ({@code reporter="destination"}).
   */
  public ServerServiceDefinition envoyAccessLogService() {
    return ServerInterceptors.intercept(envoyAccessLogs.service(), peers);
  }

  /** Every receiver: OTLP's and Envoy's two, to serve on one port. */
  public List<ServerServiceDefinition> services() {
    return List.of(metricsService(), envoyMetricsService(), envoyAccessLogService());
  }

  /**
   * The largest export, in bytes, the server hosting {@link #metricsService()} should accept (its
   * {@code maxInboundMessageSize}); gRPC refuses a larger one with {@code RESOURCE_EXHAUSTED}
   * before it is parsed.
   */
  public int maxExportBytes() {
    return maxExportBytes;
  }

  /** The service graph's edges over the last {@code window} (at most the configured window). */
  public List<EdgeStats> edges(Duration window) {
    return golden.edges(window);
  }

  /** The service graph over the last {@code window} (at most the configured window). */
  public ServiceGraph graph(Duration window) {
    return ServiceGraph.of(window, golden.edges(window));
  }

  /** The longest window {@link #edges} and {@link #graph} answer for. */
  public Duration window() {
    return window;
  }

  /**
   * Writes the golden metrics in the Prometheus text format (0.0.4): {@code weft_requests_total},
   * {@code weft_request_duration_milliseconds} and {@code weft_request_duration_milliseconds_max},
   * the families whose name ({@code weft_requests}, {@code weft_request_duration_milliseconds},
   * {@code weft_request_duration_milliseconds_max}) {@code includedNames} accepts. Nothing when no
   * series exists yet.
   */
  public void writePrometheusText(Predicate<String> includedNames, OutputStream out)
      throws IOException {
    PrometheusText.write(PrometheusText.collect(golden), includedNames, out);
  }

  /** Golden-metric series kept (at most the configured bound). */
  public int series() {
    return golden.size();
  }

  public static final class Builder {
    private final MeterRegistry meters;
    private final DestinationResolver destinations;
    private Clock clock = Clock.systemUTC();
    private String trustDomain = "cluster.local";
    private boolean requireCertificate;
    private int maxSeries = 10_000;
    private int maxTrackedSeries = 100_000;
    private Duration trackedSeriesIdleAfter = Duration.ofMinutes(10);
    private int maxDataPointsPerExport = 10_000;
    private int maxExportBytes = 4 * 1024 * 1024;
    private Duration window = Duration.ofMinutes(1);
    private Duration windowSlot = Duration.ofSeconds(5);

    private Builder(MeterRegistry meters, DestinationResolver destinations) {
      this.meters = Objects.requireNonNull(meters, "meters");
      this.destinations = Objects.requireNonNull(destinations, "destinations");
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** The trust domain of the mesh's SPIFFE IDs; certificates of other domains are ignored. */
    public Builder trustDomain(String trustDomain) {
      this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
      return this;
    }

    /**
     * Whether a sender must present a certificate of the mesh (true in a cluster, where who reports
     * must not be what the report claims). Without it (standalone), a sender with no certificate is
     * named by its resource's {@code service.name} and {@code k8s.namespace.name}.
     */
    public Builder requireCertificate(boolean requireCertificate) {
      this.requireCertificate = requireCertificate;
      return this;
    }

    /** Golden-metric series kept at most; reports for more are counted as overflow. */
    public Builder maxSeries(int maxSeries) {
      if (maxSeries < 1) {
        throw new IllegalArgumentException("maxSeries must be at least 1: " + maxSeries);
      }
      this.maxSeries = maxSeries;
      return this;
    }

    /**
     * Senders' cumulative series remembered at most (to turn totals into deltas), and how long one
     * is kept once its sender stops reporting it, when room is needed.
     */
    public Builder maxTrackedSeries(int maxTrackedSeries, Duration idleAfter) {
      if (maxTrackedSeries < 1) {
        throw new IllegalArgumentException(
            "maxTrackedSeries must be at least 1: " + maxTrackedSeries);
      }
      if (idleAfter.isNegative() || idleAfter.isZero()) {
        throw new IllegalArgumentException("idleAfter must be positive: " + idleAfter);
      }
      this.maxTrackedSeries = maxTrackedSeries;
      this.trackedSeriesIdleAfter = idleAfter;
      return this;
    }

    /**
     * The most data points an OTLP export, request stats of clusters an Envoy Metrics Service
     * message or entries an Access Log Service message may carry; more is refused with {@code
     * RESOURCE_EXHAUSTED}.
     */
    public Builder maxDataPointsPerExport(int maxDataPointsPerExport) {
      if (maxDataPointsPerExport < 1) {
        throw new IllegalArgumentException(
            "maxDataPointsPerExport must be at least 1: " + maxDataPointsPerExport);
      }
      this.maxDataPointsPerExport = maxDataPointsPerExport;
      return this;
    }

    /** See {@link TelemetryCollector#maxExportBytes()}. */
    public Builder maxExportBytes(int maxExportBytes) {
      if (maxExportBytes < 1024) {
        throw new IllegalArgumentException(
            "maxExportBytes must be at least 1024: " + maxExportBytes);
      }
      this.maxExportBytes = maxExportBytes;
      return this;
    }

    /** The longest window {@link TelemetryCollector#edges} answers for, and its resolution. */
    public Builder window(Duration window, Duration slot) {
      if (slot.toMillis() < 1 || window.compareTo(slot) < 0) {
        throw new IllegalArgumentException(
            "the window's slot ("
                + slot
                + ") must be at least a millisecond and at most the window ("
                + window
                + ")");
      }
      this.window = window;
      this.windowSlot = slot;
      return this;
    }

    public TelemetryCollector build() {
      return new TelemetryCollector(this);
    }
  }
}
