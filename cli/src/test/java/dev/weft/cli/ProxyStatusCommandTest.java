package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The table {@code weft proxy-status} prints for each state, from {@code /debug/proxies} JSON as
 * Weft writes it (ProxyStatus), served on loopback, read at a fixed time. The control plane's own
 * answers are covered by the controller's CliApplicationTest.
 */
class ProxyStatusCommandTest {

  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  private HttpServer server;

  @BeforeEach
  void start() throws Exception {
    String proxies =
        """
        [
          {"stream": "7", "nodeId": "web-0.shop", "namespace": "shop", "type": "grpc",
           "protocol": "sotw", "replica": "weft-0", "connectedSince": "2026-11-30T11:00:00Z", "behindSince": null,
           "types": {
             "%1$s": {"subscribed": ["a"], "ackedVersion": "3-aa", "ackedAt": "2026-11-30T11:59:30Z",
                      "pendingVersion": "", "pendingSince": null, "resources": ["a"], "lastNack": null}}},
          {"stream": "8", "nodeId": "web-0.shop", "namespace": "shop", "type": "grpc",
           "protocol": "delta", "replica": "weft-1", "connectedSince": "2026-11-30T11:00:00Z",
           "behindSince": "2026-11-30T11:58:00Z",
           "types": {
             "%1$s": {"subscribed": ["a"], "ackedVersion": "3-aa", "ackedAt": "2026-11-30T11:00:01Z",
                      "pendingVersion": "4-bb", "pendingSince": "2026-11-30T11:58:00Z",
                      "resources": ["a"], "lastNack": null},
             "%2$s": {"subscribed": ["*"], "ackedVersion": "2-cc", "ackedAt": "2026-11-30T11:00:01Z",
                      "pendingVersion": "", "pendingSince": null, "resources": [],
                      "lastNack": {"version": "3-dd", "detail": "cluster c: bad\\n  lb policy",
                                   "at": "2026-11-30T11:59:55Z"}}}},
          {"stream": "9", "nodeId": "edge.gw", "namespace": "gw", "type": "gateway",
           "protocol": "delta", "replica": "weft-1", "connectedSince": "2026-11-30T11:59:50Z", "behindSince": null,
           "types": {
             "%2$s": {"subscribed": ["*"], "ackedVersion": "", "ackedAt": null,
                      "pendingVersion": "", "pendingSince": null, "resources": [], "lastNack": null}}},
          {"stream": "10", "nodeId": "api-0.shop", "namespace": "shop", "type": "sidecar",
           "protocol": "delta", "connectedSince": "2026-11-30T11:00:00Z",
           "behindSince": "2026-11-30T11:59:00Z",
           "types": {
             "%1$s": {"subscribed": ["a"], "ackedVersion": "3-aa", "ackedAt": "2026-11-30T11:58:00Z",
                      "pendingVersion": "", "pendingSince": null, "resources": ["a"], "lastNack": null}}}
        ]
        """
            .formatted(LDS, CDS);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/debug/proxies",
        exchange -> {
          byte[] bytes = proxies.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void eachStateWithItsAgeAndTheRejectionUnderTheTable() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = proxyStatus(out, err);

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .isEqualTo(
            """
            NAME                    NAMESPACE   TYPE      REPLICA   PROTOCOL   CDS             LDS
            edge.gw                 gw          gateway   weft-1    delta      PENDING (10s)   -
            api-0.shop              shop        sidecar   -         delta      -               SYNCED (2m)
            web-0.shop (stream 7)   shop        grpc      weft-0    sotw       -               SYNCED (30s)
            web-0.shop (stream 8)   shop        grpc      weft-1    delta      NACKED (5s)     STALE (2m)

            api-0.shop has lacked configuration for 1m though it answered every response: its connection takes no pushes (a slow or stuck client)
            web-0.shop (stream 8) CDS rejected version 3-dd: cluster c: bad lb policy (it keeps version 2-cc; %s)
            """
                .formatted(CDS));
  }

  @Test
  void aResponseIsPendingUntilItHasWaitedStaleAfter() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = proxyStatus(out, err, "--stale-after=5m");

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains(
            "web-0.shop (stream 8)   shop        grpc      weft-1    delta      NACKED (5s)     PENDING (2m)")
        .doesNotContain("STALE")
        .doesNotContain("api-0.shop has lacked");
  }

  @Test
  void aStaleAfterThatIsNotADurationIsRefused() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = proxyStatus(out, err, "--stale-after=soon");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("--stale-after").contains("\"soon\" is not a duration");
  }

  private int proxyStatus(StringWriter out, StringWriter err, String... options) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "proxy-status", "--server", "http://127.0.0.1:" + server.getAddress().getPort()));
    args.addAll(List.of(options));
    return WeftCli.commandLine(
            Clock.fixed(NOW, ZoneOffset.UTC),
            new PrintWriter(out, true),
            new PrintWriter(err, true))
        .execute(args.toArray(String[]::new));
  }

  /**
   * Proxies on two replicas say which; a replica that did not answer is named under the table, from
   * the header Weft sets.
   */
  @Test
  void proxiesOfSeveralReplicasSayWhichAndAReplicaThatDidNotAnswerIsNamed() throws Exception {
    String proxies =
        """
        [
          {"stream": "1", "nodeId": "web-0.shop", "namespace": "shop", "type": "grpc",
           "protocol": "sotw", "replica": "weft-7d9c-aaaaa",
           "connectedSince": "2026-11-30T11:00:00Z", "behindSince": null, "types": {}},
          {"stream": "1", "nodeId": "web-1.shop", "namespace": "shop", "type": "grpc",
           "protocol": "sotw", "replica": "weft-7d9c-bbbbb",
           "connectedSince": "2026-11-30T11:00:00Z", "behindSince": null, "types": {}}
        ]
        """;
    HttpServer replicas = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    replicas.createContext(
        "/debug/proxies",
        exchange -> {
          byte[] bytes = proxies.getBytes(StandardCharsets.UTF_8);
          exchange
              .getResponseHeaders()
              .add("Weft-Unanswered-Replicas", "weft-7d9c-ccccc (no answer within 1000 ms)");
          exchange.sendResponseHeaders(200, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    replicas.start();
    try {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();

      int exit =
          WeftCli.commandLine(
                  Clock.fixed(NOW, ZoneOffset.UTC),
                  new PrintWriter(out, true),
                  new PrintWriter(err))
              .execute(
                  "proxy-status",
                  "--server",
                  "http://127.0.0.1:" + replicas.getAddress().getPort());

      assertThat(exit).as(err.toString()).isZero();
      assertThat(out.toString())
          .isEqualTo(
              """
              NAME         NAMESPACE   TYPE   REPLICA           PROTOCOL
              web-0.shop   shop        grpc   weft-7d9c-aaaaa   sotw
              web-1.shop   shop        grpc   weft-7d9c-bbbbb   sotw

              Not listed: the proxies of replicas that did not answer: weft-7d9c-ccccc (no answer \
              within 1000 ms). Retry; if it lasts, see that replica's log.
              """);
    } finally {
      replicas.stop(0);
    }
  }
}
