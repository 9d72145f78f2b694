package dev.weft.distributor;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
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
 * <p>Thread-safety: stateless apart from Micrometer's thread-safe meters.
 */
final class LoadReportService extends LoadReportingServiceGrpc.LoadReportingServiceImplBase {

  /** How often proxies report: often enough for dashboards, rarely enough to cost nothing. */
  static final Duration REPORTING_INTERVAL = Duration.ofSeconds(10);

  private final MeterRegistry meters;

  LoadReportService(MeterRegistry meters) {
    this.meters = meters;
  }

  @Override
  public StreamObserver<LoadStatsRequest> streamLoadStats(
      StreamObserver<LoadStatsResponse> responses) {
    return new StreamObserver<>() {
      private boolean answered;

      @Override
      public void onNext(LoadStatsRequest request) {
        for (ClusterStats stats : request.getClusterStatsList()) {
          record(stats);
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
        responses.onCompleted();
      }
    };
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
