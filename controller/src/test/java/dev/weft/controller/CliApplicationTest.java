package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.weft.cli.WeftCli;
import dev.weft.demo.Greeter;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The {@code weft} CLI's HTTP commands against the whole control plane, standalone: what a user
 * reads from {@code proxy-status}, {@code config-dump} and {@code describe service} while a
 * grpc-xds client (grpc-java's own xDS stack) is connected, and while a raw ADS client rejects what
 * Weft sends it.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "weft.mode=standalone",
      "weft.xds.port=0",
      "weft.ca.port=0",
      "weft.kubernetes.identity=weft-0"
    })
class CliApplicationTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";

  @TempDir static Path configDir;
  @TempDir static Path caDataDir;
  private static Server backend;

  @LocalServerPort int port;
  @Autowired XdsConfiguration.XdsServerLifecycle xds;

  /** What one run of the CLI printed, and its exit code. */
  record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void startBackend() throws IOException {
    backend =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(Greeter.service("v1"))
            .build()
            .start();
    Files.writeString(
        configDir.resolve("greeter.yaml"),
        """
        apiVersion: v1
        kind: Service
        metadata: {name: greeter, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: greeter-a
          namespace: demo
          labels: {kubernetes.io/service-name: greeter}
        addressType: IPv4
        ports: [{name: grpc, port: %d}]
        endpoints:
          - {addresses: ["127.0.0.1"], zone: zone-a}
          - {addresses: ["127.0.0.2"], zone: zone-b, conditions: {ready: false}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: greeter-split, namespace: demo}
        spec:
          parentRefs: [{group: "", kind: Service, name: greeter, port: 50051}]
          rules:
            - backendRefs:
                - {name: greeter, port: 50051, weight: 100}
        """
            .formatted(backend.getPort()));
  }

  @AfterAll
  static void stopBackend() throws InterruptedException {
    backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry properties) {
    properties.add("weft.config-dir", configDir::toString);
    properties.add("weft.ca.data-dir", caDataDir::toString);
  }

  @Test
  void proxyStatusShowsASyncedClientAndARejectingOneWithItsError() throws Exception {
    String bootstrap = get("/bootstrap?namespace=demo&serviceAccount=shop&pod=shop-0");
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest("xds-cli", parse(bootstrap));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "xds-cli:///greeter.demo.svc.cluster.local:50051",
                InsecureChannelCredentials.create())
            .build();
    ManagedChannel ads =
        Grpc.newChannelBuilder(
                "127.0.0.1:" + xds.port().orElseThrow(), InsecureChannelCredentials.create())
            .build();
    try {
      assertThat(call(channel)).isEqualTo("v1");

      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(weft("proxy-status").out())
                      .matches(
                          "(?s)NAME +NAMESPACE +TYPE +REPLICA +PROTOCOL +CDS +LDS +EDS +RDS\n"
                              + "shop-0\\.demo +demo +grpc +weft-0 +sotw +SYNCED \\(\\d+s\\) +SYNCED"
                              + " \\(\\d+s\\) +SYNCED \\(\\d+s\\) +SYNCED \\(\\d+s\\)\n"));

      Run dump = weft("config-dump", "shop-0.demo");
      assertThat(dump.exitCode()).isZero();
      assertThat(dump.out()).contains("greeter.demo.svc.cluster.local:50051");

      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(weft("describe", "service", "demo/greeter").out())
                      .matches(
                          "(?s)Service: +demo/greeter\n"
                              + "Cluster IPs: +<none>\n"
                              + "Ports:\n"
                              + "  grpc  50051/TCP \\(grpc\\) -> .*\n"
                              + "Endpoints: +1 ready, 1 not ready\n"
                              + "  ZONE +READY +NOT READY\n"
                              + "  zone-a +1 +0\n"
                              + "  zone-b +0 +1\n"
                              + "Attached routes and policies:\n"
                              + "  HTTPRoute demo/greeter-split\n"
                              + "    CONDITION +STATUS +REASON +MESSAGE\n"
                              + ".*"
                              + "    Programmed +True +Programmed +1 of 1 proxy holds it\n"));

      // A raw ADS client that rejects the Listener Weft sends it, as a broken proxy would.
      BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
      StreamObserver<DiscoveryRequest> requests =
          AggregatedDiscoveryServiceGrpc.newStub(ads)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      responses.add(response);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setNode(
                  Node.newBuilder()
                      .setId("nacker.demo")
                      .setMetadata(
                          com.google.protobuf.Struct.newBuilder()
                              .putFields(
                                  "NAMESPACE",
                                  com.google.protobuf.Value.newBuilder()
                                      .setStringValue("demo")
                                      .build())))
              .setTypeUrl(LISTENER)
              .addResourceNames("greeter.demo.svc.cluster.local:50051")
              .build());
      DiscoveryResponse listener = responses.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(listener).isNotNull();
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setTypeUrl(LISTENER)
              .addResourceNames("greeter.demo.svc.cluster.local:50051")
              .setResponseNonce(listener.getNonce())
              .setErrorDetail(
                  com.google.rpc.Status.newBuilder()
                      .setCode(3)
                      .setMessage("listener refused by the test\nsecond line"))
              .build());

      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                Run status = weft("proxy-status");
                assertThat(status.exitCode()).isZero();
                assertThat(status.out())
                    .containsPattern(
                        "(?m)^nacker\\.demo +demo +\\S+ +weft-0 +sotw +- +NACKED \\(\\d+s\\)")
                    .containsPattern(
                        "(?m)^shop-0\\.demo +demo +grpc +weft-0 +sotw +SYNCED \\(\\d+s\\) +SYNCED")
                    .contains(
                        "\nnacker.demo LDS rejected version "
                            + listener.getVersionInfo()
                            + ": listener refused by the test second line (it keeps nothing; "
                            + LISTENER
                            + ")\n");
              });
      requests.onCompleted();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      ads.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
    }
  }

  @Test
  void failuresAreOneLineWithWhatToDo() throws IOException {
    Run dump = weft("config-dump", "nobody");
    assertThat(dump.exitCode()).isEqualTo(1);
    assertThat(dump.err())
        .isEqualTo(
            "weft config-dump: no connected proxy with stream or node id nobody (HTTP 404 from"
                + " http://127.0.0.1:"
                + port
                + "/debug/config_dump?proxy=nobody)\n");

    Run describe = weft("describe", "service", "demo/nothing");
    assertThat(describe.exitCode()).isEqualTo(1);
    assertThat(describe.err())
        .startsWith("weft describe: name: the registry has no Service demo/nothing");

    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Run unreachable = run("proxy-status", "--server", "http://127.0.0.1:" + closed);
    assertThat(unreachable.exitCode()).isEqualTo(1);
    assertThat(unreachable.err())
        .isEqualTo(
            "weft proxy-status: cannot reach Weft's HTTP API at http://127.0.0.1:"
                + closed
                + "; start kubectl -n weft-system port-forward svc/weft 8080, or pass --server\n");

    Run unknown = weft("proxy-stat");
    assertThat(unknown.exitCode()).isEqualTo(2);
    assertThat(unknown.err().lines()).hasSize(1);
  }

  private Run weft(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--server";
    all[args.length + 1] = "http://127.0.0.1:" + port;
    return run(all);
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = WeftCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  private static String call(ManagedChannel channel) {
    return Greeter.backendOf(
        ClientCalls.blockingUnaryCall(
            channel,
            Greeter.SAY_HELLO,
            CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
            StringValue.of("test")));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> parse(String json) throws IOException {
    return (Map<String, ?>) JsonParser.parse(json);
  }

  private String get(String path) throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
