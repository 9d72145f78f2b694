package dev.weft.distributor;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;

/**
 * The Load Reporting Service (LRS) that proxies report per-cluster request counts to. Weft asks for
 * every cluster at a fixed interval and counts what it receives as {@code
 * weft.proxy.requests{cluster, outcome}} (succeeded, errored, dropped).
 *
 * <p>It also makes circuit breaking work for proxyless gRPC: grpc-java counts a cluster's requests
 * in flight, which {@code max_requests} limits, only for clusters that report load, so a cluster
 * with limits names this server as its {@code lrs_server}.
 *
 * <p>Bounded by what exists, not by what clients say: a report's cluster makes a series only when
 * it names a port of a Service in the newest published configuration, so the series are at most
 * three per Service port; reports of any other cluster are counted in {@code
 * weft.xds.load_reports.unknown_clusters} and dropped. A report that carries more clusters than a
 * request may name resources ends its stream with RESOURCE_EXHAUSTED. Reports are handled as they
 * arrive, on the transport thread, so nothing queues.
 *
 * <p>Thread-safety: stateless apart from Micrometer's thread-safe meters and the pipeline's
 * volatile current version.
 */
final class LoadReportService extends LoadReportingServiceGrpc.LoadReportingServiceImplBase {

  /** How often proxies report: often enough for dashboards, rarely enough to cost nothing. */
  static final Duration REPORTING_INTERVAL = Duration.ofSeconds(10);

  private final MeterRegistry meters;
  private final ConfigPipeline pipeline;
  private final ResourceNames names;
  private final StreamLimits limits;
  private final XdsMetrics metrics;

  LoadReportService(
      MeterRegistry meters,
      ConfigPipeline pipeline,
      ResourceNames names,
      StreamLimits limits,
      XdsMetrics metrics) {
    this.meters = meters;
    this.pipeline = pipeline;
    this.names = names;
    this.limits = limits;
    this.metrics = metrics;
  }

  @Override
  public StreamObserver<LoadStatsRequest> streamLoadStats(
      StreamObserver<LoadStatsResponse> responses) {
    return new StreamObserver<>() {
      private boolean answered;
      private boolean refused;

      @Override
      public void onNext(LoadStatsRequest request) {
        if (refused) {
          return;
        }
        int clusters = request.getClusterStatsCount();
        if (clusters > limits.namesPerRequest()) {
          refused = true;
          String reason = limits.tooManyClusters(clusters);
          metrics.refused(
              XdsMetrics.Refusal.LOAD_REPORT_CLUSTERS,
              "refused load reports of " + request.getNode().getId() + ": " + reason);
          responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(reason).asRuntimeException());
          return;
        }
        ConfigVersion current = pipeline.current();
        int unknown = 0;
        for (ClusterStats stats : request.getClusterStatsList()) {
          if (current != null && exists(current, stats.getClusterName())) {
            record(stats);
          } else {
            unknown++;
          }
        }
        if (unknown > 0) {
          metrics.unknownClusters(unknown);
        }
        if (!answered) {
          answered = true;
          responses.onNext(
              LoadStatsResponse.newBuilder()
                  .setSendAllClusters(true)
                  .setLoadReportingInterval(Durations.fromMillis(REPORTING_INTERVAL.toMillis()))
                  .build());
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!refused) {
          responses.onCompleted();
        }
      }
    };
  }

  /** Whether a cluster name is the canonical name of a port of a Service in {@code version}. */
  private boolean exists(ConfigVersion version, String cluster) {
    ResourceNames.ClientTarget target = names.parseCanonical(cluster).orElse(null);
    return target != null
        && version
            .state()
            .service(target.service())
            .flatMap(s -> s.port(target.port()))
            .isPresent();
  }

  private void record(ClusterStats stats) {
    long succeeded = 0;
    long errored = 0;
    for (UpstreamLocalityStats locality : stats.getUpstreamLocalityStatsList()) {
      succeeded += locality.getTotalSuccessfulRequests();
      errored += locality.getTotalErrorRequests();
    }
    count(stats.getClusterName(), "succeeded", succeeded);
    count(stats.getClusterName(), "errored", errored);
    count(stats.getClusterName(), "dropped", stats.getTotalDroppedRequests());
  }

  private void count(String cluster, String outcome, long requests) {
    if (requests > 0) {
      Counter.builder("weft.proxy.requests")
          .description("Requests proxies reported through LRS, by cluster and outcome")
          .tag("cluster", cluster)
          .tag("outcome", outcome)
          .register(meters)
          .increment(requests);
    }
  }
}
