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
           "protocol": "sotw", "connectedSince": "2026-11-30T11:00:00Z", "behindSince": null,
           "types": {
             "%1$s": {"subscribed": ["a"], "ackedVersion": "3-aa", "ackedAt": "2026-11-30T11:59:30Z",
                      "pendingVersion": "", "pendingSince": null, "resources": ["a"], "lastNack": null}}},
          {"stream": "8", "nodeId": "web-0.shop", "namespace": "shop", "type": "grpc",
           "protocol": "delta", "connectedSince": "2026-11-30T11:00:00Z",
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
           "protocol": "delta", "connectedSince": "2026-11-30T11:59:50Z", "behindSince": null,
           "types": {
             "%2$s": {"subscribed": ["*"], "ackedVersion": "", "ackedAt": null,
                      "pendingVersion": "", "pendingSince": null, "resources": [], "lastNack": null}}}
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

    int exit =
        WeftCli.commandLine(
                Clock.fixed(NOW, ZoneOffset.UTC), new PrintWriter(out, true), new PrintWriter(err))
            .execute(
                "proxy-status", "--server", "http://127.0.0.1:" + server.getAddress().getPort());

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .isEqualTo(
            """
            NAME                    NAMESPACE   TYPE      PROTOCOL   CDS           LDS
            edge.gw                 gw          gateway   delta      STALE (10s)   -
            web-0.shop (stream 7)   shop        grpc      sotw       -             SYNCED (30s)
            web-0.shop (stream 8)   shop        grpc      delta      NACKED (5s)   STALE (2m)

            web-0.shop (stream 8) CDS rejected version 3-dd: cluster c: bad lb policy (it keeps version 2-cc; %s)
            """
                .formatted(CDS));
  }

  /**
   * Proxies on two replicas get a REPLICA column; a replica that did not answer is named under the
   * table, from the header Weft sets.
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
