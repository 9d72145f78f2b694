package dev.weft.telemetry;

import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogCommon;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPRequestProperties;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPResponseProperties;
import io.envoyproxy.envoy.data.accesslog.v3.TLSProperties;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsMessage;
import io.prometheus.client.Metrics.Bucket;
import io.prometheus.client.Metrics.Counter;
import io.prometheus.client.Metrics.Gauge;
import io.prometheus.client.Metrics.Histogram;
import io.prometheus.client.Metrics.Metric;
import io.prometheus.client.Metrics.MetricFamily;
import io.prometheus.client.Metrics.MetricType;
import io.prometheus.client.Metrics.Quantile;
import io.prometheus.client.Metrics.Summary;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Messages shaped as Envoy sends them, after its source: the Metrics Service sink
 * (source/extensions/stat_sinks/metrics_service/grpc_metrics_service_impl.cc) sends the node only
 * on a stream's first message, one MetricFamily per stat named by the stat's full name (tags not
 * emitted as labels by default), counters as their current (cumulative) value, histograms as the
 * flush interval's statistics, both as a SUMMARY and as a HISTOGRAM of the same name (the default
 * histogram_emit_mode); the gRPC access logger (grpc_access_log_utils.cc,
 * http_grpc_access_log_impl.cc) sends the node and log_name with the first batch of HTTP entries,
 * then batches alone.
 */
final class EnvoyMessages {

  /** Envoy's default histogram buckets (Stats::HistogramSettingsImpl::defaultBuckets), in ms. */
  static final double[] ENVOY_BUCKETS = {
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
    1800000, 3600000
  };

  private static final long SNAPSHOT_MILLIS = 1_764_500_000_000L;

  private EnvoyMessages() {}

  /** The node Weft's bootstrap gives a sidecar (EnvoyBootstrap.node). */
  static Node node(String pod, String namespace, String serviceAccount, String version) {
    return Node.newBuilder()
        .setId(pod + "." + namespace)
        .setCluster(serviceAccount + "." + namespace)
        .setMetadata(
            Struct.newBuilder()
                .putFields("NAMESPACE", text(namespace))
                .putFields("SERVICE_ACCOUNT", text(serviceAccount))
                .putFields("PROXY_TYPE", text("sidecar"))
                .putFields("POD_NAME", text(pod))
                .putFields(
                    "LABELS",
                    Value.newBuilder()
                        .setStructValue(
                            Struct.newBuilder()
                                .putFields("app", text(serviceAccount))
                                .putFields("version", text(version)))
                        .build()))
        .build();
  }

  /** One flush of a cluster's stats as the sink sends them. */
  static final class Flush {
    private final List<MetricFamily> families = new ArrayList<>();

    /** Stats Weft does not read, as every flush carries them. */
    Flush withUnrelatedStats() {
      families.add(counter("http.inbound|8080.downstream_rq_total", 1000));
      families.add(gauge("server.live", 1));
      families.add(counter("cluster.xds-grpc.upstream_cx_total", 1));
      families.add(counter("cluster_manager.cds.update_success", 3));
      return this;
    }

    /**
     * A cluster's request counters (cumulative, per class) and its latency over the interval:
     * {@code intervalMillis} are the latencies of the calls since the previous flush.
     */
    Flush cluster(String name, long ok2xx, long failed5xx, List<Double> intervalMillis) {
      families.add(counter("cluster." + name + ".upstream_rq_total", ok2xx + failed5xx));
      families.add(counter("cluster." + name + ".upstream_rq_completed", ok2xx + failed5xx));
      families.add(counter("cluster." + name + ".upstream_rq_2xx", ok2xx));
      families.add(counter("cluster." + name + ".upstream_rq_200", ok2xx));
      if (failed5xx > 0) {
        families.add(counter("cluster." + name + ".upstream_rq_5xx", failed5xx));
        families.add(counter("cluster." + name + ".upstream_rq_503", failed5xx));
        // Envoy charges internal/external variants too; they are not clusters of their own.
        families.add(counter("cluster." + name + ".external.upstream_rq_5xx", failed5xx));
      }
      families.add(counter("cluster." + name + ".external.upstream_rq_2xx", ok2xx));
      families.add(gauge("cluster." + name + ".membership_healthy", 2));
      families.add(summary("cluster." + name + ".upstream_rq_time", intervalMillis));
      families.add(histogram("cluster." + name + ".upstream_rq_time", intervalMillis));
      families.add(histogram("cluster." + name + ".external.upstream_rq_time", intervalMillis));
      return this;
    }

    Flush family(MetricFamily family) {
      families.add(family);
      return this;
    }

    StreamMetricsMessage first(Node node) {
      return StreamMetricsMessage.newBuilder()
          .setIdentifier(StreamMetricsMessage.Identifier.newBuilder().setNode(node))
          .addAllEnvoyMetrics(families)
          .build();
    }

    StreamMetricsMessage next() {
      return StreamMetricsMessage.newBuilder().addAllEnvoyMetrics(families).build();
    }
  }

  static MetricFamily counter(String name, double value) {
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.COUNTER)
        .addMetric(
            Metric.newBuilder()
                .setTimestampMs(SNAPSHOT_MILLIS)
                .setCounter(Counter.newBuilder().setValue(value)))
        .build();
  }

  static MetricFamily gauge(String name, double value) {
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.GAUGE)
        .addMetric(
            Metric.newBuilder()
                .setTimestampMs(SNAPSHOT_MILLIS)
                .setGauge(Gauge.newBuilder().setValue(value)))
        .build();
  }

  static MetricFamily histogram(String name, List<Double> millis) {
    Histogram.Builder histogram =
        Histogram.newBuilder()
            .setSampleCount(millis.size())
            .setSampleSum(millis.stream().mapToDouble(Double::doubleValue).sum());
    for (double bound : ENVOY_BUCKETS) {
      histogram.addBucket(
          Bucket.newBuilder()
              .setUpperBound(bound)
              .setCumulativeCount(millis.stream().filter(value -> value <= bound).count()));
    }
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.HISTOGRAM)
        .addMetric(Metric.newBuilder().setTimestampMs(SNAPSHOT_MILLIS).setHistogram(histogram))
        .build();
  }

  private static MetricFamily summary(String name, List<Double> millis) {
    Summary.Builder summary =
        Summary.newBuilder()
            .setSampleCount(millis.size())
            .setSampleSum(millis.stream().mapToDouble(Double::doubleValue).sum());
    for (double quantile : new double[] {0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1}) {
      summary.addQuantile(Quantile.newBuilder().setQuantile(quantile).setValue(0));
    }
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.SUMMARY)
        .addMetric(Metric.newBuilder().setTimestampMs(SNAPSHOT_MILLIS).setSummary(summary))
        .build();
  }

  /**
   * The first message of an access log stream as Envoy sends it: who logs and the log's name, with
   * the first batch of entries.
   */
  static StreamAccessLogsMessage firstLogs(
      Node node, String logName, List<HTTPAccessLogEntry> entries) {
    return logs(entries).toBuilder()
        .setIdentifier(
            StreamAccessLogsMessage.Identifier.newBuilder().setNode(node).setLogName(logName))
        .build();
  }

  /** An identifying message without entries (valid, though Envoy sends entries with it). */
  static StreamAccessLogsMessage identifier(Node node, String logName) {
    return StreamAccessLogsMessage.newBuilder()
        .setIdentifier(
            StreamAccessLogsMessage.Identifier.newBuilder().setNode(node).setLogName(logName))
        .build();
  }

  static StreamAccessLogsMessage logs(List<HTTPAccessLogEntry> entries) {
    return StreamAccessLogsMessage.newBuilder()
        .setHttpLogs(
            StreamAccessLogsMessage.HTTPAccessLogEntries.newBuilder().addAllLogEntry(entries))
        .build();
  }

  /**
   * A request an inbound listener served, as the logger records it: the caller's certificate (empty
   * {@code peerSpiffeId}: plaintext), the request's authority, the response code and the {@code
   * grpc-status} trailer (null: not in the response), and its timings.
   */
  static HTTPAccessLogEntry inboundEntry(
      String peerSpiffeId, String authority, int responseCode, String grpcStatus, double millis) {
    Duration duration = nanos((long) (millis * 1_000_000));
    AccessLogCommon.Builder common =
        AccessLogCommon.newBuilder()
            .setDownstreamRemoteAddress(address("10.0.0.7", 43122))
            .setDownstreamLocalAddress(address("10.0.0.9", 8080))
            .setStartTime(Timestamp.newBuilder().setSeconds(SNAPSHOT_MILLIS / 1000))
            .setDuration(duration)
            .setTimeToLastRxByte(nanos(80_000))
            .setTimeToFirstUpstreamTxByte(nanos(120_000))
            .setTimeToLastUpstreamRxByte(duration)
            .setTimeToLastDownstreamTxByte(duration)
            .setUpstreamRemoteAddress(address("127.0.0.1", 8080))
            .setUpstreamCluster("inbound|8080")
            .setRouteName("inbound|8080");
    if (!peerSpiffeId.isEmpty()) {
      common.setTlsProperties(
          TLSProperties.newBuilder()
              .setTlsVersion(TLSProperties.TLSVersion.TLSv1_3)
              .setLocalCertificateProperties(
                  TLSProperties.CertificateProperties.newBuilder()
                      .addSubjectAltName(
                          TLSProperties.CertificateProperties.SubjectAltName.newBuilder()
                              .setUri("spiffe://cluster.local/ns/shop/sa/greeter")))
              .setPeerCertificateProperties(
                  TLSProperties.CertificateProperties.newBuilder()
                      .addSubjectAltName(
                          TLSProperties.CertificateProperties.SubjectAltName.newBuilder()
                              .setUri(peerSpiffeId))));
    }
    HTTPResponseProperties.Builder response =
        HTTPResponseProperties.newBuilder()
            .setResponseCode(UInt32Value.of(responseCode))
            .setResponseHeadersBytes(120)
            .setResponseBodyBytes(9);
    if (grpcStatus != null) {
      response.putAllResponseTrailers(Map.of("grpc-status", grpcStatus));
    }
    return HTTPAccessLogEntry.newBuilder()
        .setCommonProperties(common)
        .setProtocolVersion(HTTPAccessLogEntry.HTTPVersion.HTTP2)
        .setRequest(
            HTTPRequestProperties.newBuilder()
                .setRequestMethod(io.envoyproxy.envoy.config.core.v3.RequestMethod.POST)
                .setScheme("http")
                .setAuthority(authority)
                .setPath("/helloworld.Greeter/SayHello")
                .setUserAgent("grpc-java-netty/1.85.1")
                .setRequestId("5b3c1a1e-0000-4000-8000-000000000001")
                .setRequestHeadersBytes(200)
                .setRequestBodyBytes(12))
        .setResponse(response)
        .build();
  }

  private static Address address(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  private static Duration nanos(long nanos) {
    return Duration.newBuilder()
        .setSeconds(nanos / 1_000_000_000)
        .setNanos((int) (nanos % 1_000_000_000))
        .build();
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }
}
