package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the CLI reads Weft's HTTP API when it refuses: a server on loopback answering as Weft's debug
 * door does (DebugAccessFilter: 401 or 403 with {"error": ...}).
 */
class WeftApiTest {

  private HttpServer server;
  private final AtomicReference<String> authorization = new AtomicReference<>();

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/debug/proxies",
        exchange -> {
          String header = exchange.getRequestHeaders().getFirst("Authorization");
          authorization.set(header);
          int status = header == null ? 401 : header.equals("Bearer good") ? 200 : 403;
          String body =
              switch (status) {
                case 401 -> "{\"error\":\"the debug API needs a Kubernetes token\"}";
                case 403 ->
                    "{\"error\":\"system:serviceaccount:ops:x may not read the debug API\"}";
                default -> "[]";
              };
          byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(status, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    server.createContext(
        "/",
        exchange -> {
          byte[] bytes = "<html>not weft</html>".getBytes(StandardCharsets.UTF_8);
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
  void aMissingOrRefusedTokenIsOneLineSayingWhatToDo() {
    StringWriter err = new StringWriter();
    assertThat(weft(new StringWriter(), err, "proxy-status")).isEqualTo(1);
    assertThat(err.toString())
        .isEqualTo(
            "weft proxy-status: Weft's HTTP API refused the request (401): the debug API needs a"
                + " Kubernetes token; pass --token or set WEFT_TOKEN\n");

    StringWriter refused = new StringWriter();
    assertThat(weft(new StringWriter(), refused, "proxy-status", "--token", "bad")).isEqualTo(1);
    assertThat(refused.toString())
        .isEqualTo(
            "weft proxy-status: Weft's HTTP API refused the request (403):"
                + " system:serviceaccount:ops:x may not read the debug API\n");

    StringWriter out = new StringWriter();
    assertThat(weft(out, new StringWriter(), "proxy-status", "--token", "good")).isZero();
    assertThat(authorization.get()).isEqualTo("Bearer good");
    assertThat(out.toString()).startsWith("No proxies are connected to Weft at");
  }

  @Test
  void somethingElseAtTheServerAddressIsNamed() {
    StringWriter err = new StringWriter();
    assertThat(weft(new StringWriter(), err, "describe", "service", "demo/greeter")).isEqualTo(1);
    assertThat(err.toString())
        .isEqualTo(
            "weft describe: http://127.0.0.1:"
                + server.getAddress().getPort()
                + "/api/services/demo/greeter did not answer JSON; is --server http://127.0.0.1:"
                + server.getAddress().getPort()
                + " Weft's HTTP API?\n");

    StringWriter notUrl = new StringWriter();
    assertThat(
            WeftCli.commandLine(
                    Clock.systemUTC(), new PrintWriter(new StringWriter()), new PrintWriter(notUrl))
                .execute("proxy-status", "--server", "localhost:8080"))
        .isEqualTo(1);
    assertThat(notUrl.toString())
        .isEqualTo(
            "weft proxy-status: --server localhost:8080 is not an http:// or https:// URL; pass"
                + " e.g. http://localhost:8080\n");
  }

  private int weft(StringWriter out, StringWriter err, String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--server";
    all[args.length + 1] = "http://127.0.0.1:" + server.getAddress().getPort();
    return WeftCli.commandLine(
            Clock.systemUTC(), new PrintWriter(out, true), new PrintWriter(err, true))
        .execute(all);
  }
}
