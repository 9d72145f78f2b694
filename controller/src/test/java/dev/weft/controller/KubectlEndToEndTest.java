package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.StringValue;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.cli.WeftCli;
import dev.weft.demo.Greeter;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;

/**
 * Issue 15's proof through the real {@code kubectl} binary: the control plane in Kubernetes mode,
 * against Fabric8's mock API server behind {@link KubectlApiServer} (discovery, OpenAPI, PATCH and
 * validating admission as kubectl needs them), serving a grpc-xds client (grpc-java's own xDS
 * stack) that calls greeter-v1 and greeter-v2 through an HTTPRoute.
 *
 * <ol>
 *   <li>{@code kubectl apply} creates the route and a TrafficPolicy, admitted by Weft's validating
 *       webhook; the client calls only v1.
 *   <li>{@code kubectl weft shift} (scripts/kubectl-weft on PATH, a thin jar on this classpath)
 *       moves the client's calls to 50/50 within a second of the command returning; {@code kubectl
 *       weft rollback} moves them back.
 *   <li>{@code kubectl apply} of an invalid FaultPolicy (a creation) and an invalid TrafficPolicy
 *       (a merge patch of the stored one) fails at the webhook with each field and reason; neither
 *       is stored, and the last good configuration keeps serving.
 * </ol>
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "weft.mode=kubernetes",
      "weft.kubernetes.namespaces=demo",
      "weft.xds.port=0",
      "weft.ca.port=0",
      // The validating webhook's HTTPS port, on loopback, which the API server below calls; no
      // sidecar injection, as the chart's default.
      "weft.webhooks.port=0",
      "weft.webhooks.address=127.0.0.1",
      "weft.injection.enabled=false"
    })
class KubectlEndToEndTest {

  private static final String NS = "demo";
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** Calls per measuring window: 50/50 ± 5 % is then 3 standard deviations of a fair coin. */
  private static final int WINDOW = 1000;

  /** The longest the calls may take to follow a shift or rollback once kubectl has returned. */
  private static final Duration SHIFT_DEADLINE = Duration.ofSeconds(1);

  @TempDir static Path dir;
  private static Server v1;
  private static Server v2;

  @TestConfiguration
  static class ApiServer {
    @Bean(destroyMethod = "destroy")
    KubernetesMockServer kubernetesMockServer() throws IOException {
      KubernetesMockServer server =
          new KubernetesMockServer(
              new Context(), new MockWebServer(), new HashMap<>(), new KubectlApiServer(), false);
      server.init(InetAddress.getByName("127.0.0.1"), 0);
      return server;
    }

    @Bean(destroyMethod = "close")
    KubernetesClient kubernetesClient(KubernetesMockServer server) {
      return server.createClient();
    }
  }

  @Autowired KubernetesClient client;
  @Autowired AdmissionConfiguration.WebhookLifecycle webhooks;
  @LocalServerPort int port;

  /** What one kubectl run printed, and its exit code. */
  record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void startBackends() throws IOException {
    v1 = backend("v1");
    v2 = backend("v2");
  }

  @AfterAll
  static void stopBackends() throws InterruptedException {
    v1.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    v2.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void kubectlAppliesShiftsRollsBackAndIsRefusedAnInvalidPolicy() throws Exception {
    assumeTrue(onPath("kubectl"), "kubectl is not installed");
    Path kubeconfig = kubeconfig();
    Path jar = thinJar();
    createServices();
    registerValidatingWebhook();

    // 1. kubectl apply of the route (and a policy), through the webhook.
    Path route =
        write(
            "route.yaml",
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: greeter-split, namespace: demo}
            spec:
              parentRefs: [{group: "", kind: Service, name: greeter, port: 50051}]
              rules:
                - backendRefs:
                    - {name: greeter-v1, port: 50051, weight: 100}
                    - {name: greeter-v2, port: 50051, weight: 0}
            ---
            apiVersion: mesh.weft.dev/v1alpha1
            kind: TrafficPolicy
            metadata: {name: greeter-traffic, namespace: demo}
            spec:
              targetRefs: [{group: "", kind: Service, name: greeter}]
              loadBalancer: {type: RoundRobin}
            """);
    Run applied = kubectl(kubeconfig, jar, "apply", "-f", route.toString());
    assertThat(applied.exitCode()).as(applied.err()).isZero();
    assertThat(applied.out())
        .isEqualTo(
            "httproute.gateway.networking.k8s.io/greeter-split created\n"
                + "trafficpolicy.mesh.weft.dev/greeter-traffic created\n");

    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest(
            "xds-kubectl", parse(get("/bootstrap?namespace=demo&serviceAccount=shop&pod=shop-0")));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "xds-kubectl:///greeter.demo.svc.cluster.local:50051",
                InsecureChannelCredentials.create())
            .build();
    try {
      await().atMost(WAIT).ignoreExceptions().until(() -> shareOfV2(channel) == 0.0);
      assertThat(window(channel)).containsOnlyKeys("v1");

      // 2. kubectl weft shift, then rollback: the calls follow within a second of the return.
      Run shift =
          kubectl(
              kubeconfig,
              jar,
              "weft",
              "shift",
              "greeter-split",
              "greeter-v2=50",
              "greeter-v1=50",
              "--timeout",
              "30s");
      long returned = System.nanoTime();
      Duration shifted = untilShareOfV2(channel, share -> Math.abs(share - 0.5) <= 0.05, returned);
      System.out.printf(
          "KubectlEndToEndTest: calls at 50/50 ± 5 %% %d ms after kubectl weft shift returned%n",
          shifted.toMillis());
      assertThat(shift.exitCode()).as(shift.err()).isZero();
      assertThat(shift.out())
          .startsWith(
              "httproute demo/greeter-split rule #0: greeter-v1 100 -> 50, greeter-v2 0 -> 50\n")
          .endsWith("Programmed: 1 of 1 proxy holds it\n");
      assertThat(shifted).isLessThanOrEqualTo(SHIFT_DEADLINE);

      Run rollback = kubectl(kubeconfig, jar, "weft", "rollback", "greeter-split");
      returned = System.nanoTime();
      Duration rolledBack = untilShareOfV2(channel, share -> share == 0.0, returned);
      System.out.printf(
          "KubectlEndToEndTest: calls at 100/0 %d ms after kubectl weft rollback returned%n",
          rolledBack.toMillis());
      assertThat(rollback.exitCode()).as(rollback.err()).isZero();
      assertThat(rollback.out())
          .startsWith(
              "httproute demo/greeter-split rule #0: greeter-v1 50 -> 100, greeter-v2 50 -> 0\n");
      assertThat(rolledBack).isLessThanOrEqualTo(SHIFT_DEADLINE);

      // 3. An invalid policy is refused at kubectl apply, by the webhook, with field and reason.
      Path bad =
          write(
              "bad-policy.yaml",
              """
              apiVersion: mesh.weft.dev/v1alpha1
              kind: TrafficPolicy
              metadata: {name: greeter-traffic, namespace: demo}
              spec:
                targetRefs: [{group: "", kind: Service, name: greeter}]
                loadBalancer: {type: Random}
              ---
              apiVersion: mesh.weft.dev/v1alpha1
              kind: FaultPolicy
              metadata: {name: greeter-faults, namespace: demo}
              spec:
                targetRefs: [{group: "", kind: Service, name: greeter}]
                abort: {grpcStatus: UNAVAILABLE, percentage: 150}
              """);
      Run refused = kubectl(kubeconfig, jar, "apply", "-f", bad.toString());

      assertThat(refused.exitCode()).isNotZero();
      assertThat(refused.err())
          .contains(
              "error when patching \""
                  + bad
                  + "\": admission webhook \"config-validator.weft.dev\" denied the request:"
                  + " TrafficPolicy demo/greeter-traffic: spec.loadBalancer.type: \"Random\" is"
                  + " not one of")
          .contains(
              "error when creating \""
                  + bad
                  + "\": admission webhook \"config-validator.weft.dev\" denied the request:"
                  + " FaultPolicy demo/greeter-faults: spec.abort.percentage: 150 is outside"
                  + " 0..100");
      assertThat(
              client.resources(FaultPolicy.class).inNamespace(NS).withName("greeter-faults").get())
          .isNull();
      TrafficPolicy kept =
          client.resources(TrafficPolicy.class).inNamespace(NS).withName("greeter-traffic").get();
      assertThat(kept.getSpec().getLoadBalancer().getType()).isEqualTo("RoundRobin");
      assertThat(weights()).containsExactly(100, 0);
      assertThat(window(channel)).containsOnlyKeys("v1");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
    }
  }

  // ---- the cluster -----------------------------------------------------------------------------

  /** greeter (the route's parent), and greeter-v1 and -v2 with one endpoint each, on loopback. */
  private void createServices() {
    for (String yaml :
        List.of(
            service("greeter"),
            service("greeter-v1"),
            service("greeter-v2"),
            endpoints("greeter-v1", v1.getPort()),
            endpoints("greeter-v2", v2.getPort()))) {
      client.resource(Serialization.unmarshal(yaml, HasMetadata.class)).create();
    }
  }

  private static String service(String name) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        """
        .formatted(name);
  }

  private static String endpoints(String service, int port) {
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %s-x1
          namespace: demo
          labels: {kubernetes.io/service-name: %s}
        addressType: IPv4
        ports: [{name: grpc, port: %d}]
        endpoints: [{addresses: ["127.0.0.1"]}]
        """
        .formatted(service, service, port);
  }

  /**
   * The chart's ValidatingWebhookConfiguration, calling the webhook on loopback by URL, with
   * failure policy Fail so that only the webhook's answer lets an object through; waits until the
   * leader has written Weft's CA bundle into it.
   */
  private void registerValidatingWebhook() {
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingWebhookConfiguration
                metadata: {name: weft-validator}
                webhooks:
                  - name: config-validator.weft.dev
                    admissionReviewVersions: [v1]
                    sideEffects: None
                    failurePolicy: Fail
                    timeoutSeconds: 10
                    clientConfig: {url: "https://localhost:%d/validate"}
                    rules:
                      - operations: [CREATE, UPDATE]
                        apiGroups: [gateway.networking.k8s.io]
                        apiVersions: ["*"]
                        resources: [httproutes, grpcroutes, gateways, gatewayclasses]
                      - operations: [CREATE, UPDATE]
                        apiGroups: [mesh.weft.dev]
                        apiVersions: ["*"]
                        resources: [trafficpolicies, faultpolicies, authorizationpolicies,
                                    meshtlspolicies, ratelimitpolicies, telemetries]
                """
                    .formatted(webhooks.port().orElseThrow()),
                HasMetadata.class))
        .create();
    await()
        .atMost(WAIT)
        .until(
            () ->
                client
                    .admissionRegistration()
                    .v1()
                    .validatingWebhookConfigurations()
                    .withName("weft-validator")
                    .get()
                    .getWebhooks()
                    .get(0)
                    .getClientConfig()
                    .getCaBundle(),
            bundle -> bundle != null && !bundle.isEmpty());
  }

  private List<Integer> weights() {
    return client
        .resources(HTTPRoute.class)
        .inNamespace(NS)
        .withName("greeter-split")
        .get()
        .getSpec()
        .getRules()
        .get(0)
        .getBackendRefs()
        .stream()
        .map(HTTPBackendRef::getWeight)
        .toList();
  }

  // ---- traffic ---------------------------------------------------------------------------------

  /** Calls in windows until one's share of v2 passes; the time from {@code since} to its end. */
  private static Duration untilShareOfV2(
      ManagedChannel channel, java.util.function.DoublePredicate wanted, long since)
      throws Exception {
    long deadline = since + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      double share = shareOfV2(channel);
      if (wanted.test(share)) {
        return Duration.ofNanos(System.nanoTime() - since);
      }
    }
    throw new AssertionError("the calls' share of v2 never passed within " + WAIT);
  }

  private static double shareOfV2(ManagedChannel channel) throws Exception {
    Map<String, Integer> answered = window(channel);
    return answered.getOrDefault("v2", 0) / (double) WINDOW;
  }

  /** {@value #WINDOW} calls at once: how many each backend answered. */
  private static Map<String, Integer> window(ManagedChannel channel)
      throws InterruptedException, ExecutionException {
    List<Future<StringValue>> calls = new ArrayList<>(WINDOW);
    for (int i = 0; i < WINDOW; i++) {
      calls.add(
          ClientCalls.futureUnaryCall(
              channel.newCall(
                  Greeter.SAY_HELLO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
              StringValue.of("kubectl")));
    }
    Map<String, Integer> answered = new TreeMap<>();
    for (Future<StringValue> call : calls) {
      answered.merge(Greeter.backendOf(call.get()), 1, Integer::sum);
    }
    return answered;
  }

  private static Server backend(String name) throws IOException {
    return Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(Greeter.service(name))
        .build()
        .start();
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

  // ---- kubectl ---------------------------------------------------------------------------------

  private Path kubeconfig() throws IOException {
    return write(
        "kubeconfig",
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster: {server: "%s"}
        users:
        - name: tester
          user: {token: secret}
        contexts:
        - name: mock
          context: {cluster: mock, user: tester, namespace: demo}
        current-context: mock
        """
            .formatted(client.getMasterUrl().toString()));
  }

  /**
   * Runs the real kubectl with {@code scripts/} on PATH (so {@code kubectl weft} is the launcher
   * users install) and its caches in the test's directory.
   */
  private static Run kubectl(Path kubeconfig, Path jar, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("kubectl"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> env = builder.environment();
    Path scripts = Path.of("..", "scripts").toAbsolutePath().normalize();
    env.put("PATH", scripts + File.pathSeparator + env.get("PATH"));
    env.put("KUBECONFIG", kubeconfig.toString());
    env.put("HOME", dir.toString());
    env.put("WEFT_JAR", jar.toString());
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.remove("WEFT_TOKEN");
    builder.redirectOutput(dir.resolve("out").toFile());
    builder.redirectError(dir.resolve("err").toFile());
    Process process = builder.start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl finished").isTrue();
    return new Run(
        process.exitValue(),
        Files.readString(dir.resolve("out")),
        Files.readString(dir.resolve("err")));
  }

  /** A jar whose manifest runs the weft CLI on this test's classpath. */
  private static Path thinJar() throws IOException {
    StringJoiner entries = new StringJoiner(" ");
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.isEmpty()) {
        entries.add(Path.of(entry).toAbsolutePath().toUri().toString());
      }
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, WeftCli.class.getName());
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, entries.toString());
    Path jar = dir.resolve("weft-cli-test.jar");
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream jarOut = new JarOutputStream(out, manifest)) {
      jarOut.flush();
    }
    return jar;
  }

  private static Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content);
    return file;
  }

  private static boolean onPath(String program) {
    for (String directory : System.getenv("PATH").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(directory, program))) {
        return true;
      }
    }
    return false;
  }
}
