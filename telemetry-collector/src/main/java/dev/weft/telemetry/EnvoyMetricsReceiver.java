package dev.weft.telemetry;

import io.envoyproxy.envoy.service.metrics.v3.MetricsServiceGrpc;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsMessage;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.prometheus.client.Metrics.Bucket;
import io.prometheus.client.Metrics.LabelPair;
import io.prometheus.client.Metrics.Metric;
import io.prometheus.client.Metrics.MetricFamily;
import io.prometheus.client.Metrics.MetricType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Envoy's Metrics Service ({@code envoy.service.metrics.v3.MetricsService/StreamMetrics}, the
 * {@code envoy.stat_sinks.metrics_service} sink): reads a proxy's own stats of each upstream
 * cluster and adds them to the golden metrics as the calls of the proxy's workload ({@code
 * reporter="source"}) to the cluster's Service. Every other stat is ignored.
 *
 * <p>Per cluster {@code C} it reads, by the full stat names the sink sends by default ({@code
 * cluster.C.upstream_rq_total}, {@code cluster.C.upstream_rq_2xx}, ..., {@code
 * cluster.C.upstream_rq_time}) or, with the sink's {@code emit_tags_as_labels}, by the names tag
 * extraction leaves ({@code cluster.upstream_rq_xx} with labels {@code envoy_cluster_name} and
 * {@code envoy_response_code_class}):
 *
 * <ul>
 *   <li>the response class counters, which are cumulative: turned into deltas per proxy and cluster
 *       by {@link CumulativeDeltas};
 *   <li>the {@code upstream_rq_time} histogram (milliseconds), which the sink sends per flush
 *       interval (Envoy's {@code intervalStatistics}): the latency of the calls since the last
 *       message. Envoy does not split latency by response class, so each class's calls get the
 *       cluster's latency distribution, in proportion.
 * </ul>
 *
 * <p>A cluster is taken only when its {@code upstream_rq_total} is in the message: that name exists
 * once per cluster, so {@code cluster.C.internal.upstream_rq_2xx} and the like are never read as a
 * cluster named {@code C.internal}. A sidecar's inbound clusters ({@code inbound|<port>}) are its
 * own workload's side, which the Access Log Service reports ({@code reporter="destination"}): they
 * are skipped, so that no call is counted twice.
 *
 * <p>A flush carries every stat the proxy has used, a few dozen per cluster it knows, so the bound
 * per message counts only the request stats read here: a sidecar that sees a large mesh is not
 * refused for the stats it keeps of clusters it never calls (the xDS ports' message size limit
 * bounds those bytes).
 *
 * <p>Thread-safety: a stream's state lives in its {@link EnvoyReportStream}; what streams share
 * (the deltas, the golden metrics, the meters) is thread-safe.
 */
final class EnvoyMetricsReceiver {

  /** The prefix of a sidecar's inbound clusters (docs/envoy.md), as Istio names them too. */
  static final String INBOUND_CLUSTER_PREFIX = "inbound|";

  private static final String CLUSTER_PREFIX = "cluster.";
  private static final String TOTAL = "upstream_rq_total";
  private static final String TIME = "upstream_rq_time";
  private static final String CLASS_PREFIX = "upstream_rq_";
  private static final String TAGGED_CLASS = "upstream_rq_xx";
  private static final String CLUSTER_LABEL = "envoy_cluster_name";
  private static final String CLASS_LABEL = "envoy_response_code_class";
  private static final int CLASSES = 5;

  /** One cluster's stats in a message. */
  private static final class ClusterStats {
    boolean hasTotal;
    final long[] classes = new long[CLASSES];
    long[] latency;
  }

  private final GoldenMetrics golden;
  private final CumulativeDeltas deltas;
  private final DestinationResolver destinations;
  private final int maxMetricsPerMessage;
  private final Counter accepted;
  private final Counter refusedInvalid;
  private final Counter refusedTooLarge;
  private final Counter unknownDestinations;
  private final Counter cumulativeOverflow;

  EnvoyMetricsReceiver(
      GoldenMetrics golden,
      CumulativeDeltas deltas,
      DestinationResolver destinations,
      int maxMetricsPerMessage,
      MeterRegistry meters) {
    this.golden = golden;
    this.deltas = deltas;
    this.destinations = destinations;
    this.maxMetricsPerMessage = maxMetricsPerMessage;
    this.accepted = EnvoyReceivers.messageCounter(meters, "metrics", "accepted");
    this.refusedInvalid = EnvoyReceivers.messageCounter(meters, "metrics", "invalid");
    this.refusedTooLarge = EnvoyReceivers.messageCounter(meters, "metrics", "too_large");
    this.unknownDestinations = EnvoyReceivers.unknownDestinations(meters);
    this.cumulativeOverflow = GoldenMetrics.overflowCounter(meters, "cumulative");
  }

  ServerServiceDefinition service() {
    MethodDescriptor<Received<StreamMetricsMessage>, StreamMetricsResponse> method =
        MetricsServiceGrpc.getStreamMetricsMethod().toBuilder(
                Received.marshaller(StreamMetricsMessage.parser()),
                ProtoUtils.marshaller(StreamMetricsResponse.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(MetricsServiceGrpc.SERVICE_NAME)
        .addMethod(method, ServerCalls.asyncClientStreamingCall(this::stream))
        .build();
  }

  private StreamObserver<Received<StreamMetricsMessage>> stream(
      StreamObserver<StreamMetricsResponse> responses) {
    return new EnvoyReportStream<StreamMetricsMessage, StreamMetricsResponse>(
        responses, "StreamMetricsMessage") {
      @Override
      EnvoyProxy identify(StreamMetricsMessage first, Reporter authenticated) throws InvalidReport {
        if (!first.hasIdentifier() || !first.getIdentifier().hasNode()) {
          throw new InvalidReport(
              "identifier.node is missing: Envoy sends its node on the first message of a stream");
        }
        return EnvoyProxy.of(first.getIdentifier().getNode(), "identifier.node", authenticated);
      }

      @Override
      void accept(EnvoyProxy proxy, String peer, StreamMetricsMessage message)
          throws InvalidReport, TooLarge {
        Map<String, ClusterStats> clusters = read(message);
        clusters.forEach((cluster, stats) -> add(proxy, peer, cluster, stats));
        accepted.increment();
      }

      @Override
      StreamMetricsResponse response() {
        return StreamMetricsResponse.getDefaultInstance();
      }

      @Override
      void refused(Status.Code code) {
        (code == Status.Code.RESOURCE_EXHAUSTED ? refusedTooLarge : refusedInvalid).increment();
      }
    };
  }

  /** The clusters of a message, checked; only those that report {@code upstream_rq_total}. */
  private Map<String, ClusterStats> read(StreamMetricsMessage message)
      throws InvalidReport, EnvoyReportStream.TooLarge {
    Map<String, ClusterStats> clusters = new LinkedHashMap<>();
    int read = 0;
    for (int i = 0; i < message.getEnvoyMetricsCount(); i++) {
      MetricFamily family = message.getEnvoyMetrics(i);
      String name = family.getName();
      if (!name.startsWith(CLUSTER_PREFIX)) {
        continue;
      }
      for (Metric metric : family.getMetricList()) {
        if (readStat(i, family, metric, clusters) && ++read > maxMetricsPerMessage) {
          throw new EnvoyReportStream.TooLarge(
              "the message carries more than "
                  + maxMetricsPerMessage
                  + " request stats of clusters (upstream_rq_total, _<class>xx, _time), which"
                  + " this collector takes at most per message");
        }
      }
    }
    clusters.values().removeIf(stats -> !stats.hasTotal);
    return clusters;
  }

  /** Reads one metric of a {@code cluster.} family; returns whether it is one Weft reads. */
  private static boolean readStat(
      int index, MetricFamily family, Metric metric, Map<String, ClusterStats> clusters)
      throws InvalidReport {
    MetricType type = family.getType();
    String stat = family.getName().substring(CLUSTER_PREFIX.length());
    Optional<String> taggedCluster = label(metric, CLUSTER_LABEL);
    String cluster;
    String base;
    if (taggedCluster.isPresent()) {
      cluster = taggedCluster.get();
      base = stat;
      if (base.equals(TAGGED_CLASS)) {
        Optional<String> responseClass = label(metric, CLASS_LABEL);
        if (responseClass.isEmpty()) {
          throw new InvalidReport(field(index, family) + " has no " + CLASS_LABEL + " label");
        }
        base = CLASS_PREFIX + responseClass.get() + "xx";
      }
    } else {
      int dot = stat.lastIndexOf('.');
      if (dot <= 0) {
        return false;
      }
      cluster = stat.substring(0, dot);
      base = stat.substring(dot + 1);
    }
    int responseClass = responseClass(base);
    boolean total = base.equals(TOTAL);
    boolean time = base.equals(TIME);
    if (responseClass < 0 && !total && !time) {
      return false;
    }
    String field = field(index, family);
    if (cluster.length() > OtlpMetricsReceiver.MAX_SERIES_KEY_CHARS / 4) {
      throw new InvalidReport(
          field
              + ": a cluster name of "
              + cluster.length()
              + " characters; at most "
              + OtlpMetricsReceiver.MAX_SERIES_KEY_CHARS / 4
              + " are taken");
    }
    if (time) {
      if (type != MetricType.HISTOGRAM) {
        return false; // the sink sends the same name as a SUMMARY too (histogram_emit_mode)
      }
      clusters.computeIfAbsent(cluster, unused -> new ClusterStats()).latency =
          latency(field, metric);
      return true;
    }
    if (type != MetricType.COUNTER || !metric.hasCounter()) {
      throw new InvalidReport(field + " must be a COUNTER (as Envoy sends it), not " + type);
    }
    long value = counterValue(field, metric.getCounter().getValue());
    ClusterStats stats = clusters.computeIfAbsent(cluster, unused -> new ClusterStats());
    if (total) {
      stats.hasTotal = true;
    } else {
      stats.classes[responseClass - 1] = value;
    }
    return true;
  }

  /** How a refusal names a family: its place in the message and its name. */
  private static String field(int index, MetricFamily family) {
    return "envoy_metrics[" + index + "] (" + EnvoyReceivers.shortened(family.getName()) + ")";
  }

  /** 1 for {@code upstream_rq_1xx} ... 5 for {@code upstream_rq_5xx}; -1 for any other stat. */
  private static int responseClass(String base) {
    if (base.length() == CLASS_PREFIX.length() + 3
        && base.startsWith(CLASS_PREFIX)
        && base.endsWith("xx")) {
      char digit = base.charAt(CLASS_PREFIX.length());
      if (digit >= '1' && digit <= '5') {
        return digit - '0';
      }
    }
    return -1;
  }

  private static long counterValue(String field, double value) throws InvalidReport {
    if (!Double.isFinite(value) || value < 0 || value > (double) (1L << 53)) {
      throw new InvalidReport(
          field + ": counter value " + value + " is not a count (finite, 0 to 2^53)");
    }
    return (long) value;
  }

  /**
   * A Prometheus histogram (cumulative bucket counts, in milliseconds) as counts per {@link
   * LatencyBuckets} bucket.
   */
  private static long[] latency(String field, Metric metric) throws InvalidReport {
    if (!metric.hasHistogram()) {
      throw new InvalidReport(field + " is a HISTOGRAM family without a histogram");
    }
    long sampleCount = metric.getHistogram().getSampleCount();
    if (sampleCount < 0) {
      throw new InvalidReport(field + ": sample_count is above 2^63");
    }
    List<Double> bounds = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    double previousBound = Double.NEGATIVE_INFINITY;
    long previousCount = 0;
    for (Bucket bucket : metric.getHistogram().getBucketList()) {
      double bound = bucket.getUpperBound();
      long cumulative = bucket.getCumulativeCount();
      if (Double.isNaN(bound) || bound <= previousBound) {
        throw new InvalidReport(field + ": bucket upper bounds must increase, got " + bound);
      }
      if (cumulative < previousCount || cumulative > sampleCount) {
        throw new InvalidReport(
            field
                + ": cumulative bucket counts must not decrease nor exceed sample_count "
                + Long.toUnsignedString(sampleCount)
                + ", got "
                + Long.toUnsignedString(cumulative));
      }
      if (bound == Double.POSITIVE_INFINITY) {
        break; // the overflow bucket: sample_count has it
      }
      bounds.add(bound);
      counts.add(cumulative - previousCount);
      previousBound = bound;
      previousCount = cumulative;
    }
    counts.add(sampleCount - previousCount);
    return LatencyBuckets.rebucket(bounds, counts.stream().mapToLong(Long::longValue).toArray(), 1);
  }

  private static Optional<String> label(Metric metric, String name) {
    for (LabelPair label : metric.getLabelList()) {
      if (label.getName().equals(name)) {
        return Optional.of(label.getValue());
      }
    }
    return Optional.empty();
  }

  private void add(EnvoyProxy proxy, String peer, String cluster, ClusterStats stats) {
    if (cluster.startsWith(INBOUND_CLUSTER_PREFIX)) {
      return;
    }
    Reporter reporter = proxy.reporter();
    String senderKey =
        peer + '|' + reporter.namespace() + '/' + reporter.workload() + '|' + proxy.nodeId();
    long total = 0;
    for (long count : stats.classes) {
      total += count;
    }
    Optional<CumulativeDeltas.HistogramDelta> delta =
        deltas.delta(
            senderKey,
            "envoy-cluster|" + cluster,
            // Envoy's counters carry no start time: a restart shows as counts that went down.
            new CumulativeDeltas.HistogramTotals(0, total, stats.classes.clone()));
    if (delta.isEmpty()) {
      cumulativeOverflow.increment();
      return;
    }
    long[] calls = delta.get().bucketCounts();
    if (delta.get().count() == 0) {
      return;
    }
    Optional<Destination> destination =
        destinations.resolve(CallTarget.parse(cluster, Optional.of(cluster)));
    if (destination.isEmpty()) {
      unknownDestinations.increment();
      return;
    }
    for (int i = 0; i < CLASSES; i++) {
      if (calls[i] == 0) {
        continue;
      }
      int responseClass = i + 1;
      golden.record(
          new GoldenMetrics.SeriesKey(
              GoldenMetrics.REPORTER_SOURCE,
              reporter.workload(),
              reporter.namespace(),
              Reporter.UNKNOWN,
              Reporter.UNKNOWN,
              destination.get().service(),
              destination.get().version(),
              HttpOutcomes.grpcStatusOfClass(responseClass),
              responseClass + "xx",
              destination.get().security().label()),
          EnvoyReceivers.apportion(stats.latency, calls[i]));
    }
  }
}
