package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Load reports (LRS) make metric series only for clusters that exist; reports of made-up clusters
 * are counted in one counter and dropped, and a report carrying more clusters than a request may
 * name resources ends its stream.
 */
class LoadReportLimitsTest {

  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";

  private XdsTestbed mesh;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    mesh = new XdsTestbed();
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    channel =
        Grpc.newChannelBuilderForAddress(
                "localhost", mesh.xdsPort(), InsecureChannelCredentials.create())
            .build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    mesh.close();
  }

  @Test
  void reportsOfClustersThatDoNotExistMakeNoSeriesAndAreCountedOnce() throws Exception {
    LoadStatsRequest.Builder report =
        LoadStatsRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .addClusterStats(stats(GREETER, 5))
            // Not clusters Weft serves: another port, another name form, another Service.
            .addClusterStats(stats("greeter.demo.svc.cluster.local:1", 1))
            .addClusterStats(stats("greeter.demo:50051", 1))
            .addClusterStats(stats("", 1));
    for (int i = 0; report.getClusterStatsCount() < StreamLimits.DEFAULT_NAMES_PER_REQUEST; i++) {
      report.addClusterStats(stats("made-up-" + i + ".demo.svc.cluster.local:80", 1));
    }
    Reporter reporter = new Reporter(channel);

    reporter.requests.onNext(report.build());

    assertThat(reporter.next()).isInstanceOf(LoadStatsResponse.class);
    List<Counter> series = mesh.meters.find("weft.proxy.requests").counters().stream().toList();
    assertThat(series).hasSize(1);
    assertThat(series.get(0).getId().getTag("cluster")).isEqualTo(GREETER);
    assertThat(series.get(0).getId().getTag("outcome")).isEqualTo("succeeded");
    assertThat(series.get(0).count()).isEqualTo(5.0);
    assertThat(unknownClusters()).isEqualTo(StreamLimits.DEFAULT_NAMES_PER_REQUEST - 1);

    // The stream goes on: the next report counts too.
    reporter.requests.onNext(
        LoadStatsRequest.newBuilder().addClusterStats(stats(GREETER, 2)).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> series.get(0).count() == 7.0);
    reporter.requests.onCompleted();
  }

  @Test
  void reportCarryingMoreClustersThanTheLimitIsRefused() throws Exception {
    LoadStatsRequest.Builder report = LoadStatsRequest.newBuilder().setNode(AdsTestClient.NODE);
    report.addClusterStats(stats(GREETER, 5));
    for (int i = 0; i < StreamLimits.DEFAULT_NAMES_PER_REQUEST; i++) {
      report.addClusterStats(stats("made-up-" + i + ".demo.svc.cluster.local:80", 1));
    }
    Reporter attacker = new Reporter(channel);

    attacker.requests.onNext(report.build());

    Object end = attacker.next();
    assertThat(end).isInstanceOf(Throwable.class);
    Status status = Status.fromThrowable((Throwable) end);
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("at most 10000 clusters", "weft.xds.limits.max-names-per-request", "10001");
    assertThat(
            mesh.meters
                .get("weft.xds.refused")
                .tag("reason", "load_report_clusters")
                .counter()
                .count())
        .isEqualTo(1.0);
    assertThat(mesh.meters.find("weft.proxy.requests").counters()).isEmpty();
    assertThat(unknownClusters()).isZero();

    // Other proxies report and fetch configuration as before.
    Reporter other = new Reporter(channel);
    other.requests.onNext(
        LoadStatsRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .addClusterStats(stats(GREETER, 1))
            .build());
    assertThat(other.next()).isInstanceOf(LoadStatsResponse.class);
    assertThat(mesh.meters.get("weft.proxy.requests").tag("cluster", GREETER).counter().count())
        .isEqualTo(1.0);
    try (AdsTestClient proxy = new AdsTestClient(mesh.xdsPort())) {
      proxy.openSotw();
      proxy.send(
          DiscoveryRequest.newBuilder()
              .setNode(AdsTestClient.NODE)
              .setTypeUrl(ResourceType.CLUSTER.typeUrl())
              .addResourceNames(GREETER)
              .build());
      assertThat(proxy.nextSotw().getResourcesCount()).isEqualTo(1);
    }
  }

  private double unknownClusters() {
    return mesh.meters.get("weft.xds.load_reports.unknown_clusters").counter().count();
  }

  private static ClusterStats stats(String cluster, long succeeded) {
    return ClusterStats.newBuilder()
        .setClusterName(cluster)
        .addUpstreamLocalityStats(
            UpstreamLocalityStats.newBuilder().setTotalSuccessfulRequests(succeeded))
        .build();
  }

  /** An LRS stream whose responses, and its end, are queued in order. */
  private static final class Reporter {
    final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    final StreamObserver<LoadStatsRequest> requests;

    Reporter(ManagedChannel channel) {
      requests =
          LoadReportingServiceGrpc.newStub(channel)
              .streamLoadStats(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(LoadStatsResponse response) {
                      received.add(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                      received.add(t);
                    }

                    @Override
                    public void onCompleted() {}
                  });
    }

    Object next() throws InterruptedException {
      Object next = received.poll(10, TimeUnit.SECONDS);
      assertThat(next).as("an answer within 10 s").isNotNull();
      return next;
    }
  }
}
