package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.StringValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.demo.Greeter;
import dev.weft.registry.DirectorySource;
import dev.weft.registry.MeshRegistry;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.JsonParser;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node's {@code @grpc/grpc-js-xds}, an xDS client written apart from grpc-java, against Weft: the
 * features both clients share (weighted splits, header matches, fault injection, retries) and a
 * Service that does not exist. One Weft serves every test of the class: a registry fed by a
 * directory of Kubernetes YAML, the distributor and its ADS server, and greeter backends, all on
 * 127.0.0.1. Each test runs {@code node client.js PLAN...} (in {@code src/test/node/xds-client},
 * installed by the build) with a bootstrap from {@link Bootstrap#json} in {@code
 * GRPC_XDS_BOOTSTRAP}, and checks the one JSON line it prints: per plan, which backend answered
 * each call, each call's status and latency.
 *
 * <p>Set {@code GRPC_TRACE=xds_client,xds_resolver GRPC_VERBOSITY=DEBUG} in the environment of the
 * test run to see the client's side: node inherits it, and what node writes to stderr is logged.
 */
class GrpcJsXdsInteropTest {

  private static final Logger log = LoggerFactory.getLogger(GrpcJsXdsInteropTest.class);

  private static final String NAMESPACE = "interop";
  private static final Path CLIENT = Path.of("src/test/node/xds-client/client.js");

  /**
   * Starting node and grpc-js-xds takes about half a second (two on a busy machine), and a plan
   * here runs in a second or two; well under JUnit's timeout for a test (60 s,
   * junit-platform.properties), so that a hung client fails with what it wrote.
   */
  private static final Duration NODE_TIMEOUT = Duration.ofSeconds(30);

  /** How much of what node wrote to stderr a failure shows: the end of a trace, if one is on. */
  private static final int STDERR_SHOWN = 20_000;

  @TempDir static Path temp;

  private static final List<AutoCloseable> toClose = new ArrayList<>();

  /** Per request of the flaky backend, how many attempts reached it. */
  private static final Map<String, AtomicInteger> flakyAttempts = new ConcurrentHashMap<>();

  private static Path bootstrap;
  private static int xdsPort;

  @BeforeAll
  static void startMesh() throws IOException {
    int v1 = backend(Greeter.service("v1"));
    int v2 = backend(Greeter.service("v2"));
    int flaky = backend(failingFirstAttempts("flaky"));

    MeshRegistry registry = closeLater(MeshRegistry.create());
    ConfigDistributor distributor = closeLater(ConfigDistributor.builder(registry).build());
    XdsServer xds = closeLater(XdsServer.builder(distributor).address("127.0.0.1").port(0).start());
    xdsPort = xds.port();

    Path config = Files.createDirectory(temp.resolve("config"));
    Files.writeString(config.resolve("interop.yaml"), meshYaml(v1, v2, flaky));
    DirectorySource source =
        closeLater(new DirectorySource(config, registry.registerSource("directory")));
    source.start();
    assertThat(registry.current().rejections()).isEmpty();
    await().atMost(Duration.ofSeconds(10)).until(distributor::serving);

    bootstrap = temp.resolve("bootstrap.json");
    Files.writeString(bootstrap, bootstrapJson());
  }

  @AfterAll
  static void stopMesh() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }

  /**
   * With weights 90/10, each call goes to v2 with probability 0.1, independently (grpc-js draws a
   * random number per call), so v2's count over n calls is binomial: its share has standard
   * deviation sqrt(0.1 * 0.9 / n), 0.0067 for n = 2,000. The test allows five of those either way
   * (0.066 to 0.134): a correct client fails it less than once in a million runs, and a client that
   * ignored the weights (0.5) or swapped them (0.9) cannot pass.
   */
  @Test
  void weightedSplitOf90To10HoldsWithinItsBinomialBound() {
    int calls = 2000;
    Outcomes outcomes = run(plan("split").calls(calls).concurrency(20));

    assertThat(outcomes.statuses()).as(outcomes.json()).containsExactly(Map.entry("OK", calls));
    assertThat(outcomes.backends()).containsOnlyKeys("v1", "v2");
    double expected = 0.10;
    double tolerance = 5 * Math.sqrt(expected * (1 - expected) / calls);
    assertThat(outcomes.backends().get("v2") / (double) calls)
        .isBetween(expected - tolerance, expected + tolerance);
  }

  /**
   * Three plans in one process, one after another, each on a channel of its own that closes before
   * the next opens: grpc-js-xds then unsubscribes, ends its ADS stream and asks again on a new one,
   * declaring the version it last held. Weft once took that version as "send nothing", and answered
   * the unsubscribe with an empty response that grpc-js-xds applied late: either hung the second
   * plan (docs/clients.md, "A channel opened after the last one closed").
   */
  @Test
  void headerMatchSendsOnlyCallsWithTheHeaderToTheCanary() {
    List<Outcomes> runs =
        runAll(
            plan("by-header").calls(100).concurrency(10).header("x-canary", "true"),
            plan("by-header").calls(100).concurrency(10).header("x-canary", "false"),
            plan("by-header").calls(100).concurrency(10));

    assertThat(runs.get(0).backends()).as(runs.get(0).json()).containsExactly(Map.entry("v2", 100));
    assertThat(runs.get(1).backends()).as(runs.get(1).json()).containsExactly(Map.entry("v1", 100));
    assertThat(runs.get(2).backends()).as(runs.get(2).json()).containsExactly(Map.entry("v1", 100));
  }

  /**
   * The abort fails 30 % of calls with RESOURCE_EXHAUSTED, a status the backend never answers with:
   * a binomial share again, standard deviation sqrt(0.3 * 0.7 / 1,000) = 0.0145, five of them
   * allowed either way.
   */
  @Test
  void faultAbortFailsItsShareOfCallsWithTheConfiguredStatus() {
    int calls = 1000;
    Outcomes outcomes = run(plan("abort").calls(calls).concurrency(20));

    assertThat(outcomes.statuses())
        .as(outcomes.json())
        .containsOnlyKeys("OK", "RESOURCE_EXHAUSTED");
    assertThat(outcomes.backends()).containsOnlyKeys("v1");
    double expected = 0.30;
    double tolerance = 5 * Math.sqrt(expected * (1 - expected) / calls);
    assertThat(outcomes.statuses().get("RESOURCE_EXHAUSTED") / (double) calls)
        .isBetween(expected - tolerance, expected + tolerance);
  }

  /**
   * A fixed delay of 300 ms on every call: each call counted takes at least that long. The client
   * makes a call first and leaves it out, so that no call counted includes connecting.
   */
  @Test
  void faultDelayIsObservedAsLatencyOfEveryCall() {
    Outcomes delayed = run(plan("delay").warmup(1).calls(10).concurrency(10));

    assertThat(delayed.statuses()).as(delayed.json()).containsExactly(Map.entry("OK", 10));
    assertThat(delayed.backends()).containsExactly(Map.entry("v1", 10));
    assertThat(delayed.latencyMs().get("OK").min()).isGreaterThanOrEqualTo(300);
  }

  /**
   * The flaky backend fails the first attempt of every request with UNAVAILABLE. Through the route
   * with a retry policy every call succeeds and the backend sees each request twice; through a
   * Service without one, the same backend's failures reach the caller, so the retries were Weft's.
   */
  @Test
  void aRetryPolicyHidesAFailedFirstAttemptAndWithoutOneTheCallerSeesIt() {
    List<Outcomes> runs =
        runAll(
            plan("retry").calls(20).concurrency(5).request("retried"),
            plan("no-retry").calls(20).concurrency(5).request("not-retried"));
    Outcomes retried = runs.get(0);
    Outcomes notRetried = runs.get(1);

    assertThat(retried.statuses()).as(retried.json()).containsExactly(Map.entry("OK", 20));
    assertThat(retried.backends()).containsExactly(Map.entry("flaky", 20));
    assertThat(notRetried.statuses())
        .as(notRetried.json())
        .containsExactly(Map.entry("UNAVAILABLE", 20));
    for (int i = 0; i < 20; i++) {
      assertThat(flakyAttempts.get("retried-" + i)).as("retried-" + i).hasValue(2);
      assertThat(flakyAttempts.get("not-retried-" + i)).as("not-retried-" + i).hasValue(1);
    }
  }

  /**
   * A client calling a Service its namespace does not have fails at once with UNAVAILABLE, with
   * both clients, rather than waiting out its deadline (or the xDS client's 15 s does-not-exist
   * timer). Each measures the call from its start, its own connection to Weft included.
   */
  @Test
  void aServiceThatDoesNotExistFailsAtOnceWithBothClients() {
    Duration deadline = Duration.ofSeconds(10);
    String target = "nosuch." + NAMESPACE + ".svc.cluster.local:50051";

    Outcomes node = run(plan("nosuch").calls(1).deadline(deadline));
    // The JVM's first xDS channel loads grpc-xds's classes, seconds on a busy machine: not timed,
    // as node's loading is not.
    Status warm = grpcJavaCall("split." + NAMESPACE + ".svc.cluster.local:50051", deadline);
    assertThat(warm.getCode()).as(warm.toString()).isEqualTo(Status.Code.OK);
    long start = System.nanoTime();
    Status java = grpcJavaCall(target, deadline);
    Duration javaTook = Duration.ofNanos(System.nanoTime() - start);
    log.info("grpc-java's call to {} ended with {} after {}", target, java, javaTook);

    assertThat(node.statuses()).as(node.json()).containsExactly(Map.entry("UNAVAILABLE", 1));
    assertThat(node.latencyMs().get("UNAVAILABLE").max()).as(node.json()).isLessThan(1000);
    assertThat(java.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(java.getDescription()).contains(target);
    assertThat(javaTook).isLessThan(Duration.ofSeconds(1));
  }

  /** What {@code client.js} reported; see its header for the fields. */
  record Outcomes(
      Map<String, Integer> backends,
      Map<String, Integer> statuses,
      Map<String, String> details,
      Map<String, Latency> latencyMs,
      String json) {

    /** Latencies of the calls that ended with one status, in milliseconds. */
    record Latency(double min, double p50, double p99, double max) {}

    /** Reads the array client.js printed: one result per plan. */
    static List<Outcomes> parseAll(String json) {
      ListValue.Builder results = ListValue.newBuilder();
      try {
        JsonFormat.parser().merge(json, results);
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError("client.js printed no JSON result: " + json, e);
      }
      return results.getValuesList().stream()
          .map(result -> parse(result.getStructValue().toBuilder()))
          .toList();
    }

    private static Outcomes parse(Struct.Builder result) {
      Map<String, Latency> latencies = new TreeMap<>();
      object(result, "latencyMs")
          .forEach(
              (status, value) -> {
                Map<String, Value> summary = value.getStructValue().getFieldsMap();
                latencies.put(
                    status,
                    new Latency(
                        summary.get("min").getNumberValue(),
                        summary.get("p50").getNumberValue(),
                        summary.get("p99").getNumberValue(),
                        summary.get("max").getNumberValue()));
              });
      Map<String, String> details = new TreeMap<>();
      object(result, "details")
          .forEach((status, text) -> details.put(status, text.getStringValue()));
      String json;
      try {
        json = JsonFormat.printer().omittingInsignificantWhitespace().print(result);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a Struct always prints", e);
      }
      return new Outcomes(
          counts(result, "backends"), counts(result, "statuses"), details, latencies, json);
    }

    private static Map<String, Value> object(Struct.Builder result, String field) {
      return result.getFieldsOrThrow(field).getStructValue().getFieldsMap();
    }

    private static Map<String, Integer> counts(Struct.Builder result, String field) {
      Map<String, Integer> counts = new TreeMap<>();
      object(result, field).forEach((key, count) -> counts.put(key, (int) count.getNumberValue()));
      return counts;
    }
  }

  /** A call plan for {@code client.js}: calls to one Service of the namespace. */
  private static final class Plan {
    private final Map<String, Object> fields = new LinkedHashMap<>();
    private final Map<String, String> headers = new LinkedHashMap<>();

    Plan(String service) {
      fields.put("target", "xds:///" + service + "." + NAMESPACE + ".svc.cluster.local:50051");
    }

    Plan calls(int count) {
      fields.put("calls", count);
      return this;
    }

    Plan concurrency(int count) {
      fields.put("concurrency", count);
      return this;
    }

    Plan header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    Plan deadline(Duration deadline) {
      fields.put("deadlineMs", deadline.toMillis());
      return this;
    }

    Plan warmup(int count) {
      fields.put("warmup", count);
      return this;
    }

    Plan request(String prefix) {
      fields.put("request", prefix);
      return this;
    }

    String json() {
      Struct.Builder plan = Struct.newBuilder();
      fields.forEach(
          (name, value) ->
              plan.putFields(
                  name,
                  value instanceof String text
                      ? Value.newBuilder().setStringValue(text).build()
                      : Value.newBuilder().setNumberValue(((Number) value).doubleValue()).build()));
      Struct.Builder metadata = Struct.newBuilder();
      headers.forEach(
          (name, value) ->
              metadata.putFields(name, Value.newBuilder().setStringValue(value).build()));
      plan.putFields("metadata", Value.newBuilder().setStructValue(metadata).build());
      try {
        return JsonFormat.printer().omittingInsignificantWhitespace().print(plan);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a Struct always prints", e);
      }
    }
  }

  private static Plan plan(String service) {
    return new Plan(service);
  }

  /** Runs {@code node client.js PLAN}; what happened. */
  private static Outcomes run(Plan plan) {
    return runAll(plan).get(0);
  }

  /**
   * Runs {@code node client.js PLAN...} with the class's bootstrap, the plans one after another in
   * one process; what happened, per plan. Its output and errors go to files, so that neither pipe
   * can fill and stall it; a run that fails or outlasts {@link #NODE_TIMEOUT} fails the test with
   * both.
   */
  private static List<Outcomes> runAll(Plan... plans) {
    List<String> command = new ArrayList<>(List.of("node", CLIENT.toString()));
    for (Plan plan : plans) {
      command.add(plan.json());
    }
    Process node = null;
    try {
      Path out = Files.createTempFile(temp, "client-", ".out");
      Path err = Files.createTempFile(temp, "client-", ".err");
      ProcessBuilder builder =
          new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().remove("GRPC_XDS_BOOTSTRAP_CONFIG");
      builder.environment().put("GRPC_XDS_BOOTSTRAP", bootstrap.toString());
      node = builder.start();
      boolean ended = node.waitFor(NODE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      if (!ended) {
        node.destroyForcibly().waitFor();
      }
      String printed = Files.readString(out, StandardCharsets.UTF_8).strip();
      String errors = Files.readString(err, StandardCharsets.UTF_8).strip();
      Files.delete(out);
      Files.delete(err);
      if (!ended || node.exitValue() != 0) {
        throw new AssertionError(
            (ended ? "node exited with " + node.exitValue() : "node outlasted " + NODE_TIMEOUT)
                + " running "
                + String.join(" ", command)
                + "\nstdout: "
                + printed
                + "\nstderr (its end): "
                + errors.substring(Math.max(0, errors.length() - STDERR_SHOWN)));
      }
      log.info("{} printed {}", String.join(" ", command), printed);
      if (!errors.isEmpty()) {
        log.info("client.js wrote to stderr:\n{}", errors);
      }
      List<Outcomes> outcomes = Outcomes.parseAll(printed);
      assertThat(outcomes).as(printed).hasSize(plans.length);
      return outcomes;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "could not run node (the tests need Node.js; see config-distributor/src/test/node)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while node ran", e);
    } finally {
      if (node != null && node.isAlive()) {
        node.destroyForcibly(); // interrupted (a JUnit timeout): leave no process behind
      }
    }
  }

  /** One call with grpc-java's xDS client, bootstrapped as client.js is; its status. */
  @SuppressWarnings("unchecked")
  private static Status grpcJavaCall(String target, Duration deadline) {
    Map<String, ?> config;
    try {
      config = (Map<String, ?>) JsonParser.parse(bootstrapJson());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // grpc-java reads the JVM's bootstrap once: this channel gets its own under a scheme of its
    // own, resolved exactly as xds:///.
    String scheme = "xds-interop";
    XdsNameResolverProvider resolver = XdsNameResolverProvider.createForTest(scheme, config);
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    ManagedChannel channel =
        Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
            .build();
    try {
      ClientCalls.blockingUnaryCall(
          channel,
          Greeter.SAY_HELLO,
          CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS),
          StringValue.of("java"));
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow();
      NameResolverRegistry.getDefaultRegistry().deregister(resolver);
    }
  }

  private static String bootstrapJson() {
    return Bootstrap.json(
        "127.0.0.1:" + xdsPort, new Bootstrap.Workload(NAMESPACE, "interop-client", "", ""));
  }

  /** Serves {@code service} on 127.0.0.1 (a free port), until the class is done; its port. */
  private static int backend(ServerServiceDefinition service) {
    try {
      Server server =
          NettyServerBuilder.forAddress(
                  new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
              .addService(service)
              .build()
              .start();
      closeLater(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
      return server.getPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A greeter that fails the first attempt of each request (by its text) with UNAVAILABLE. */
  private static ServerServiceDefinition failingFirstAttempts(String name) {
    return ServerServiceDefinition.builder(Greeter.SERVICE)
        .addMethod(
            Greeter.SAY_HELLO,
            ServerCalls.asyncUnaryCall(
                (request, response) -> {
                  int attempt =
                      flakyAttempts
                          .computeIfAbsent(request.getValue(), r -> new AtomicInteger())
                          .incrementAndGet();
                  if (attempt == 1) {
                    response.onError(
                        Status.UNAVAILABLE.withDescription(name + " failed").asException());
                  } else {
                    response.onNext(
                        StringValue.of("hello " + request.getValue() + " from " + name));
                    response.onCompleted();
                  }
                }))
        .build();
  }

  private static <T extends AutoCloseable> T closeLater(T resource) {
    toClose.add(resource);
    return resource;
  }

  /**
   * The mesh, as Kubernetes YAML: greeter-v1 and greeter-v2 with a backend each; split, which an
   * HTTPRoute sends 90/10 to them; by-header, which sends calls with {@code x-canary: true} to v2
   * and the rest to v1; abort and delay, served by v1, with a FaultPolicy each; retry and no-retry,
   * both served by the flaky backend, the first through a route that retries UNAVAILABLE.
   */
  private static String meshYaml(int v1, int v2, int flaky) {
    StringBuilder yaml = new StringBuilder();
    yaml.append(service("greeter-v1", v1))
        .append(service("greeter-v2", v2))
        .append(service("split", 0))
        .append(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: split, namespace: interop}
            spec:
              parentRefs: [{group: "", kind: Service, name: split, port: 50051}]
              rules:
              - backendRefs:
                - {name: greeter-v1, port: 50051, weight: 90}
                - {name: greeter-v2, port: 50051, weight: 10}
            ---
            """)
        .append(service("by-header", 0))
        .append(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: by-header, namespace: interop}
            spec:
              parentRefs: [{group: "", kind: Service, name: by-header, port: 50051}]
              rules:
              - matches: [{headers: [{name: x-canary, value: "true"}]}]
                backendRefs: [{name: greeter-v2, port: 50051}]
              - backendRefs: [{name: greeter-v1, port: 50051}]
            ---
            """)
        .append(service("abort", v1))
        .append(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: FaultPolicy
            metadata: {name: abort, namespace: interop}
            spec:
              targetRefs: [{group: "", kind: Service, name: abort}]
              abort: {grpcStatus: RESOURCE_EXHAUSTED, percentage: 30}
            ---
            """)
        .append(service("delay", v1))
        .append(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: FaultPolicy
            metadata: {name: delay, namespace: interop}
            spec:
              targetRefs: [{group: "", kind: Service, name: delay}]
              delay: {fixedDelay: 300ms, percentage: 100}
            ---
            """)
        .append(service("retry", flaky))
        .append(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: retry, namespace: interop}
            spec:
              parentRefs: [{group: "", kind: Service, name: retry, port: 50051}]
              rules:
              - backendRefs: [{name: retry, port: 50051}]
                retry: {attempts: 2, codes: [503], backoff: 10ms}
            ---
            """)
        .append(service("no-retry", flaky));
    return yaml.toString();
  }

  /** A Service on port 50051 and, unless {@code backendPort} is 0, its endpoint on 127.0.0.1. */
  private static String service(String name, int backendPort) {
    String service =
        """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: interop}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        """
            .formatted(name);
    if (backendPort == 0) {
      return service;
    }
    return service
        + """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %s-local
          namespace: interop
          labels: {kubernetes.io/service-name: %s}
        addressType: IPv4
        ports: [{name: grpc, port: %d, appProtocol: grpc}]
        endpoints:
        - addresses: ["127.0.0.1"]
          conditions: {ready: true}
        ---
        """
            .formatted(name, name, backendPort);
  }
}
