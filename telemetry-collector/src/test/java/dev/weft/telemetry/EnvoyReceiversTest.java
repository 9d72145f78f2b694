package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's Metrics Service and Access Log Service, streamed by clients on the stubs of Envoy's API
 * jar with messages shaped as Envoy sends them, to a real gRPC server on loopback: the calls come
 * out as the same golden metrics and graph edges as grpc-java's OTLP reports give.
 */
class EnvoyReceiversTest {

  private static final String GREETER = "greeter.shop.svc.cluster.local";
  private static final String GREETER_CLUSTER = GREETER + ":8080";
  private static final Set<String> MESH_HOSTS = Set.of(GREETER, "greeter.shop");
  private static final Node WEB_SIDECAR = EnvoyMessages.node("web-7d9f-x2x", "shop", "web", "v2");
  private static final Node GREETER_SIDECAR =
      EnvoyMessages.node("greeter-v1-5c4b-q8z", "shop", "greeter", "v1");
  private static final String WEB_SPIFFE_ID = "spiffe://cluster.local/ns/shop/sa/web";

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private TelemetryCollector collector;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    collector = collector(false);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addServices(collector.services())
            .build()
            .start();
    cleanup.add(() -> shutdown(server));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    cleanup.add(() -> shutdown(channel));
  }

  private TelemetryCollector collector(boolean requireCertificate) {
    return TelemetryCollector.builder(
            meters,
            // The registry knows greeter.shop; Envoy's other clusters name nothing of the mesh.
            target ->
                MESH_HOSTS.contains(target.host())
                    ? Optional.of(
                        new Destination(
                            GREETER,
                            Destination.UNKNOWN_VERSION,
                            Destination.ConnectionSecurity.MUTUAL_TLS))
                    : Optional.empty())
        .requireCertificate(requireCertificate)
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable closeable : cleanup) {
      closeable.close();
    }
  }

  @Test
  void theMetricsServiceGivesTheCallersSideAsOtlpClientsDo() throws Exception {
    // Two flushes: 62 calls (2 failed) by the first, 38 more (3 failed) by the second.
    List<Double> first = latencies(62, 0);
    List<Double> second = latencies(38, 62);
    Status status =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(
                new EnvoyMessages.Flush()
                    .withUnrelatedStats()
                    .cluster(GREETER_CLUSTER, 60, 2, first)
                    // The sidecar's own inbound side and its control plane: not mesh calls.
                    .cluster("inbound|8080", 500, 0, first)
                    .cluster("xds-grpc", 1, 0, List.of())
                    .first(WEB_SIDECAR),
                new EnvoyMessages.Flush()
                    .withUnrelatedStats()
                    .cluster(GREETER_CLUSTER, 95, 5, second)
                    .cluster("inbound|8080", 900, 0, second)
                    .cluster("xds-grpc", 1, 0, List.of())
                    .next()));
    assertThat(status.getCode()).isEqualTo(Status.Code.OK);

    // weft_requests_total, with Istio's labels; Envoy counts response classes.
    String[] caller = {
      "reporter", "source",
      "source_workload", "web",
      "source_workload_namespace", "shop",
      "destination_workload", "unknown",
      "destination_service", GREETER,
      "destination_version", "unknown",
      "connection_security_policy", "mutual_tls"
    };
    assertThat(requests(caller, "response_code", "2xx", "grpc_response_status", "0")).isEqualTo(95);
    assertThat(requests(caller, "response_code", "5xx", "grpc_response_status", "2")).isEqualTo(5);
    assertThat(requests(new String[0])).isEqualTo(100);
    assertThat(
            GoldenScrape.of(collector)
                .sum("weft_request_duration_milliseconds_count", "response_code", "2xx"))
        .isEqualTo(95);

    // The graph's edge, as for grpc-java's reports.
    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    assertThat(edges).hasSize(1);
    EdgeStats edge = edges.get(0);
    assertThat(edge.edge())
        .isEqualTo(new EdgeStats.Edge("web", "shop", GREETER, "unknown", "mutual_tls"));
    assertThat(edge.requests()).isEqualTo(100);
    assertThat(edge.errors()).isEqualTo(5);
    // Latencies 1..20 ms: the median is in Envoy's (5, 10] bucket, the 99th in (10, 25].
    assertThat(edge.p50Millis()).isBetween(5.0, 10.0);
    assertThat(edge.p99Millis()).isBetween(10.0, 25.0);
    // xds-grpc saw no new calls in the second flush, inbound|8080 is skipped: nothing unknown.
    assertThat(unknownDestinations()).isEqualTo(1);
    assertThat(messages("metrics", "accepted")).isEqualTo(2);
  }

  @Test
  void theAccessLogServiceGivesTheServedSideWithTheCallerFromItsCertificate() throws Exception {
    List<HTTPAccessLogEntry> entries = new ArrayList<>();
    List<Double> millis = latencies(100, 0);
    for (int i = 0; i < 100; i++) {
      String authority = i % 2 == 0 ? GREETER_CLUSTER : "greeter.shop:8080";
      if (i % 20 == 19) {
        // An upstream failure Envoy answers itself: no grpc-status.
        entries.add(EnvoyMessages.inboundEntry(WEB_SPIFFE_ID, authority, 503, null, millis.get(i)));
      } else if (i % 25 == 7) {
        // A gRPC error over HTTP 200: only the trailer tells.
        entries.add(EnvoyMessages.inboundEntry(WEB_SPIFFE_ID, authority, 200, "9", millis.get(i)));
      } else {
        entries.add(EnvoyMessages.inboundEntry(WEB_SPIFFE_ID, authority, 200, "0", millis.get(i)));
      }
    }
    // A plaintext caller: no certificate, so no identity.
    entries.add(EnvoyMessages.inboundEntry("", GREETER_CLUSTER, 200, "0", 3.0));
    Status status =
        EnvoyStreams.streamAccessLogs(
            channel,
            List.of(
                EnvoyMessages.firstLogs(
                    GREETER_SIDECAR,
                    EnvoyAccessLogReceiver.INBOUND_LOG_NAME,
                    entries.subList(0, 60)),
                EnvoyMessages.logs(entries.subList(60, entries.size()))));
    assertThat(status.getCode()).isEqualTo(Status.Code.OK);

    String[] served = {
      "reporter", "destination",
      "source_workload", "web",
      "source_workload_namespace", "shop",
      "destination_workload", "greeter",
      "destination_workload_namespace", "shop",
      "destination_service", GREETER,
      "destination_version", "v1",
      "connection_security_policy", "mutual_tls"
    };
    assertThat(requests(served, "response_code", "200", "grpc_response_status", "0")).isEqualTo(91);
    assertThat(requests(served, "response_code", "200", "grpc_response_status", "9")).isEqualTo(4);
    assertThat(requests(served, "response_code", "503", "grpc_response_status", "14")).isEqualTo(5);
    assertThat(
            requests(
                new String[] {"source_workload", "unknown", "connection_security_policy", "none"}))
        .isEqualTo(1);
    // The graph's edges are the callers' reports: a server's side adds none.
    assertThat(collector.edges(Duration.ofMinutes(1))).isEmpty();
    assertThat(messages("access_log", "accepted")).isEqualTo(2);
  }

  @Test
  void withBothServicesEachCallIsCountedOncePerSide() throws Exception {
    List<Double> millis = latencies(40, 0);
    Status metrics =
        EnvoyStreams.streamMetrics(
            channel,
            List.of(
                new EnvoyMessages.Flush()
                    .cluster(GREETER_CLUSTER, 40, 0, millis)
                    .first(WEB_SIDECAR)));
    List<HTTPAccessLogEntry> entries = new ArrayList<>();
    millis.forEach(
        value ->
            entries.add(
                EnvoyMessages.inboundEntry(WEB_SPIFFE_ID, GREETER_CLUSTER, 200, "0", value)));
    Status logs =
        EnvoyStreams.streamAccessLogs(
            channel,
            List.of(
                EnvoyMessages.identifier(GREETER_SIDECAR, EnvoyAccessLogReceiver.INBOUND_LOG_NAME),
                EnvoyMessages.logs(entries)));
    assertThat(metrics.getCode()).isEqualTo(Status.Code.OK);
    assertThat(logs.getCode()).isEqualTo(Status.Code.OK);

    assertThat(requests(new String[] {"reporter", "source"})).isEqualTo(40);
    assertThat(requests(new String[] {"reporter", "destination"})).isEqualTo(40);
    assertThat(collector.edges(Duration.ofMinutes(1)))
        .singleElement()
        .satisfies(edge -> assertThat(edge.requests()).isEqualTo(40));
  }

  @Test
  void overMutualTlsTheCertificateNamesTheProxyWhateverItsNodeSays() throws Exception {
    TestCertificates certificates = new TestCertificates();
    TelemetryCollector authenticated = collector(true);
    TestCertificates.Issued serving = certificates.issue(TestCertificates.loopback());
    Server server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0),
                TlsServerCredentials.newBuilder()
                    .keyManager(serving.keyManagers().getKeyManagers())
                    .trustManager(certificates.trustManagers().getTrustManagers())
                    .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                    .build())
            .addServices(authenticated.services())
            .build()
            .start();
    cleanup.add(() -> shutdown(server));
    TestCertificates.Issued web = certificates.issue(TestCertificates.spiffeId("shop", "web"));
    ManagedChannel tls =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                server.getPort(),
                TlsChannelCredentials.newBuilder()
                    .keyManager(web.keyManagers().getKeyManagers())
                    .trustManager(certificates.trustManagers().getTrustManagers())
                    .build())
            .build();
    cleanup.add(() -> shutdown(tls));

    Node claimsToBePayments = EnvoyMessages.node("payments-0", "bank", "payments", "v9");
    Status status =
        EnvoyStreams.streamMetrics(
            tls,
            List.of(
                new EnvoyMessages.Flush()
                    .cluster(GREETER_CLUSTER, 7, 0, latencies(7, 0))
                    .first(claimsToBePayments)));

    assertThat(status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(authenticated.edges(Duration.ofMinutes(1)))
        .extracting(EdgeStats::edge)
        .containsExactly(new EdgeStats.Edge("web", "shop", GREETER, "unknown", "mutual_tls"));
  }

  /** {@code count} latencies of 1 to 20 ms, continuing a sequence at {@code from}. */
  private static List<Double> latencies(int count, int from) {
    List<Double> millis = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      millis.add(1.0 + i % 20);
    }
    return millis;
  }

  private double requests(String[] tags, String... more) {
    String[] all = new String[tags.length + more.length];
    System.arraycopy(tags, 0, all, 0, tags.length);
    System.arraycopy(more, 0, all, tags.length, more.length);
    return GoldenScrape.of(collector).sum("weft_requests_total", all);
  }

  private double unknownDestinations() {
    return meters.get("weft.telemetry.destinations.unknown").counter().count();
  }

  private double messages(String service, String outcome) {
    return meters
        .get("weft.telemetry.envoy.messages")
        .tags("service", service, "outcome", outcome)
        .counter()
        .count();
  }

  private static void shutdown(Server server) throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  private static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
  }
}
