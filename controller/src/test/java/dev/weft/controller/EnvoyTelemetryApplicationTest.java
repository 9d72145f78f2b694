package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.telemetry.EdgeStats;
import dev.weft.telemetry.TelemetryCollector;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogCommon;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPRequestProperties;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPResponseProperties;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.accesslog.v3.AccessLogServiceGrpc;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.envoyproxy.envoy.service.metrics.v3.MetricsServiceGrpc;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsMessage;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.prometheus.client.Metrics.Bucket;
import io.prometheus.client.Metrics.Counter;
import io.prometheus.client.Metrics.Histogram;
import io.prometheus.client.Metrics.Metric;
import io.prometheus.client.Metrics.MetricFamily;
import io.prometheus.client.Metrics.MetricType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The control plane, standalone, as Envoy's telemetry collector: an Envoy bootstrap Weft serves
 * points the proxy's stats at the plaintext xDS port, and a client on the stubs of Envoy's API jar
 * streams stats and inbound access logs there as that proxy; the registry resolves the cluster and
 * the authority to the Service, and the calls show on {@code /actuator/prometheus}.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"weft.mode=standalone", "weft.xds.port=0", "weft.ca.port=0"})
class EnvoyTelemetryApplicationTest {

  private static final String GREETER_CLUSTER = "greeter.demo.svc.cluster.local:50051";

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;

  @LocalServerPort int port;
  @LocalManagementPort int managementPort;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;
  @Autowired TelemetryCollector collector;

  @BeforeAll
  static void writeMesh() throws Exception {
    Files.writeString(configDir.resolve("greeter.yaml"), GreeterManifest.withBackendOn(50051));
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void anEnvoySidecarsStatsAndAccessLogsShowAsGoldenMetrics() throws Exception {
    Bootstrap bootstrap = bootstrap("frontend", "frontend-0");
    // What Weft's bootstrap tells Envoy: stats to the control plane, over the ADS cluster.
    assertThat(bootstrap.getStatsSinks(0).getName()).isEqualTo("envoy.stat_sinks.metrics_service");
    assertThat(
            bootstrap
                .getStatsSinks(0)
                .getTypedConfig()
                .unpack(MetricsServiceConfig.class)
                .getGrpcService()
                .getEnvoyGrpc()
                .getClusterName())
        .isEqualTo("xds-grpc");
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1", xds.port().orElseThrow(), InsecureChannelCredentials.create())
            .build();
    try {
      Status stats =
          streamMetrics(
              channel,
              StreamMetricsMessage.newBuilder()
                  .setIdentifier(
                      StreamMetricsMessage.Identifier.newBuilder().setNode(bootstrap.getNode()))
                  .addEnvoyMetrics(counter("cluster." + GREETER_CLUSTER + ".upstream_rq_total", 12))
                  .addEnvoyMetrics(counter("cluster." + GREETER_CLUSTER + ".upstream_rq_2xx", 11))
                  .addEnvoyMetrics(counter("cluster." + GREETER_CLUSTER + ".upstream_rq_5xx", 1))
                  .addEnvoyMetrics(
                      histogram("cluster." + GREETER_CLUSTER + ".upstream_rq_time", 12))
                  .addEnvoyMetrics(counter("cluster.weft/passthrough.upstream_rq_total", 3))
                  .addEnvoyMetrics(counter("cluster.weft/passthrough.upstream_rq_2xx", 3))
                  .build());
      assertThat(stats.getCode()).isEqualTo(Status.Code.OK);

      Node greeterSidecar = bootstrap("greeter", "greeter-0").getNode();
      List<HTTPAccessLogEntry> entries = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        entries.add(served(i == 0 ? 503 : 200));
      }
      Status logs =
          streamAccessLogs(
              channel,
              // As Envoy sends it: who logs, with the first batch.
              StreamAccessLogsMessage.newBuilder()
                  .setIdentifier(
                      StreamAccessLogsMessage.Identifier.newBuilder()
                          .setNode(greeterSidecar)
                          .setLogName("weft/inbound"))
                  .setHttpLogs(
                      StreamAccessLogsMessage.HTTPAccessLogEntries.newBuilder()
                          .addAllLogEntry(entries))
                  .build());
      assertThat(logs.getCode()).isEqualTo(Status.Code.OK);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    assertThat(edges).hasSize(1);
    assertThat(edges.get(0).edge())
        .isEqualTo(
            new EdgeStats.Edge(
                "frontend", "demo", "greeter.demo.svc.cluster.local", "unknown", "none"));
    assertThat(edges.get(0).requests()).isEqualTo(12);
    assertThat(edges.get(0).errors()).isEqualTo(1);
    String scrape =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + managementPort + "/actuator/prometheus"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(scrape)
        .containsPattern(
            "weft_requests_total\\{[^}]*destination_service=\"greeter.demo.svc.cluster.local\"[^}]*"
                + "reporter=\"source\",response_code=\"2xx\",source_workload=\"frontend\"[^}]*\\} "
                + "11\\.0")
        .containsPattern(
            "weft_requests_total\\{[^}]*destination_workload=\"greeter\"[^}]*"
                + "grpc_response_status=\"14\",reporter=\"destination\",response_code=\"503\"[^}]*\\} "
                + "1\\.0")
        // weft/passthrough names no Service: counted, not kept.
        .containsPattern("weft_telemetry_destinations_unknown_total(\\{[^}]*\\})? 1\\.0");
  }

  private Bootstrap bootstrap(String serviceAccount, String pod) throws Exception {
    String json =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://localhost:"
                                + port
                                + "/bootstrap?proxy=envoy&namespace=demo&serviceAccount="
                                + serviceAccount
                                + "&pod="
                                + pod))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser()
        .usingTypeRegistry(
            JsonFormat.TypeRegistry.newBuilder()
                .add(UpstreamTlsContext.getDescriptor())
                .add(HttpProtocolOptions.getDescriptor())
                .add(MetricsServiceConfig.getDescriptor())
                .build())
        .merge(json, bootstrap);
    return bootstrap.build();
  }

  private static HTTPAccessLogEntry served(int responseCode) {
    return HTTPAccessLogEntry.newBuilder()
        .setCommonProperties(
            AccessLogCommon.newBuilder()
                .setUpstreamCluster("inbound|50051")
                .setDuration(com.google.protobuf.Duration.newBuilder().setNanos(4_000_000)))
        .setRequest(HTTPRequestProperties.newBuilder().setAuthority("greeter.demo:50051"))
        .setResponse(
            HTTPResponseProperties.newBuilder().setResponseCode(UInt32Value.of(responseCode)))
        .build();
  }

  private static MetricFamily counter(String name, double value) {
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.COUNTER)
        .addMetric(Metric.newBuilder().setCounter(Counter.newBuilder().setValue(value)))
        .build();
  }

  private static MetricFamily histogram(String name, long samplesOf3Millis) {
    Histogram.Builder histogram = Histogram.newBuilder().setSampleCount(samplesOf3Millis);
    for (double bound : new double[] {0.5, 1, 5, 10, 25}) {
      histogram.addBucket(
          Bucket.newBuilder()
              .setUpperBound(bound)
              .setCumulativeCount(bound >= 3 ? samplesOf3Millis : 0));
    }
    return MetricFamily.newBuilder()
        .setName(name)
        .setType(MetricType.HISTOGRAM)
        .addMetric(Metric.newBuilder().setHistogram(histogram))
        .build();
  }

  private static Status streamMetrics(ManagedChannel channel, StreamMetricsMessage message)
      throws Exception {
    Outcome<StreamMetricsResponse> outcome = new Outcome<>();
    StreamObserver<StreamMetricsMessage> requests =
        MetricsServiceGrpc.newStub(channel).streamMetrics(outcome);
    requests.onNext(message);
    requests.onCompleted();
    return outcome.status.get(30, TimeUnit.SECONDS);
  }

  private static Status streamAccessLogs(
      ManagedChannel channel, StreamAccessLogsMessage... messages) throws Exception {
    Outcome<StreamAccessLogsResponse> outcome = new Outcome<>();
    StreamObserver<StreamAccessLogsMessage> requests =
        AccessLogServiceGrpc.newStub(channel).streamAccessLogs(outcome);
    for (StreamAccessLogsMessage message : messages) {
      requests.onNext(message);
    }
    requests.onCompleted();
    return outcome.status.get(30, TimeUnit.SECONDS);
  }

  private static final class Outcome<R> implements StreamObserver<R> {
    final CompletableFuture<Status> status = new CompletableFuture<>();

    @Override
    public void onNext(R response) {}

    @Override
    public void onError(Throwable error) {
      status.complete(Status.fromThrowable(error));
    }

    @Override
    public void onCompleted() {
      status.complete(Status.OK);
    }
  }
}
