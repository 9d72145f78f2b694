package dev.weft.benchmarks;

import com.google.protobuf.Empty;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Issue 16's "removal is slower than addition": how long after an edit of the standalone config
 * directory a real grpc-xds client starts calling an endpoint that became ready, and stops calling
 * one that no longer is. The controller's jar runs standalone in a child JVM; its config directory
 * holds a Service and one EndpointSlice whose endpoints are loopback backends of this harness
 * (127.0.0.1, 127.0.0.2, ..., all on one port). A grpc-xds client, bootstrapped from the
 * controller's {@code /bootstrap}, calls {@code xds:///greeter.demo.svc.cluster.local:50051} from
 * several threads at a steady rate, so each backend sees a call about every millisecond.
 *
 * <p>Each cycle edits the slice (a temporary file renamed over the old one) and times, per change:
 * edit to the load assignment on the wire (a raw ADS subscriber's receipt), the load assignment to
 * the client's calls changing, and the whole. A change that adds traffic is done at the first call
 * that arrives at the backend; one that takes traffic away at the last call that arrived there (a
 * call already on its way when the config reached the client arrived before the change did).
 */
@Command(
    name = "endpoint-changes",
    mixinStandardHelpOptions = true,
    description = {
      "Endpoint changes through the standalone config directory, as a real grpc-xds client sees"
          + " them (issue 16): starts the controller jar standalone with a Service whose"
          + " EndpointSlice points at loopback backends of the harness, has a grpc-xds client"
          + " call it steadily, then edits the slice --cycles times: add an endpoint, mark it not"
          + " ready, ready again, remove it, and mark one terminating. Prints, per kind of change,"
          + " p50/p90/max of edit -> load assignment on the wire (a raw ADS subscriber) -> the"
          + " client's first call to (or last call started on) the endpoint."
    })
final class EndpointChangesBenchmark implements Callable<Integer> {

  static final String NAMESPACE = "demo";
  static final String SERVICE = "greeter";
  static final int SERVICE_PORT = 50051;
  static final String TARGET = SERVICE + "." + NAMESPACE + ".svc.cluster.local:" + SERVICE_PORT;

  /** The kinds of change timed, in the order a cycle makes them. */
  enum Change {
    ADD("add", true, HealthStatus.HEALTHY),
    NOT_READY("not-ready", false, HealthStatus.UNHEALTHY),
    READY("ready-again", true, HealthStatus.HEALTHY),
    REMOVE("remove", false, null),
    TERMINATING("terminating", false, HealthStatus.DRAINING);

    final String label;

    /** Whether the change brings calls to the endpoint (else it takes them away). */
    final boolean bringsCalls;

    /** The endpoint's health in the load assignment after the change; null when absent. */
    final HealthStatus health;

    Change(String label, boolean bringsCalls, HealthStatus health) {
      this.label = label;
      this.bringsCalls = bringsCalls;
      this.health = health;
    }
  }

  /** An endpoint of the slice as the harness writes it. */
  enum Condition {
    READY("{ready: true}"),
    NOT_READY("{ready: false}"),
    TERMINATING("{ready: false, serving: false, terminating: true}");

    final String yaml;

    Condition(String yaml) {
      this.yaml = yaml;
    }
  }

  @Spec CommandSpec spec;

  @Mixin ControllerJarOptions controllerJar;

  @Option(
      names = "--cycles",
      defaultValue = "20",
      description =
          "Measured cycles; each makes every kind of change once, and adds twice"
              + " (default ${DEFAULT-VALUE}).")
  int cycles;

  @Option(
      names = "--warmup-cycles",
      defaultValue = "2",
      description = "Cycles before measuring, for the JIT (default ${DEFAULT-VALUE}).")
  int warmupCycles;

  @Option(
      names = "--backends",
      defaultValue = "3",
      description = "Backends always in the slice, ready (default ${DEFAULT-VALUE}).")
  int steadyBackends;

  @Option(
      names = "--callers",
      defaultValue = "4",
      description = "Client threads, each calling in a loop (default ${DEFAULT-VALUE}).")
  int callers;

  @Option(
      names = "--rate",
      defaultValue = "4000",
      description =
          "Calls per second, all callers together (default ${DEFAULT-VALUE}: with 4 backends,"
              + " a call per backend about every millisecond).")
  int rate;

  @Option(
      names = "--quiet-ms",
      defaultValue = "300",
      description =
          "An endpoint that got no call for this long has stopped getting calls"
              + " (default ${DEFAULT-VALUE}).")
  int quietMillis;

  @Option(
      names = "--pause-ms",
      defaultValue = "150",
      description =
          "Pause between a change's outcome and the next edit (default ${DEFAULT-VALUE}).")
  int pauseMillis;

  @Mixin JsonFigures json;

  private static final Duration OUTCOME_TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient http = HttpClient.newHttpClient();
  private final AtomicLong failedCalls = new AtomicLong();
  private volatile boolean calling = true;

  private Path meshFile;
  private Path nextMeshFile;
  private int backendPort;
  private List<ProbeBackend> backends;
  private EdsObserver observer;

  @Override
  public Integer call() throws Exception {
    String problem = problem();
    if (problem != null) {
      spec.commandLine().getErr().println(problem);
      return spec.exitCodeOnInvalidInput();
    }
    Path workDir = Files.createTempDirectory("weft-endpoint-changes");
    String loadBefore = loadAverage();
    System.err.println("load before: " + loadBefore);
    backends = startBackends(steadyBackends + 1);
    backendPort = backends.get(0).port();
    ProbeBackend spare = backends.get(steadyBackends);
    Map<Change, List<Timing>> timings = new EnumMap<>(Change.class);
    String describedJar = controllerJar.describe();
    System.err.println("starting " + describedJar + " in " + workDir);
    long calls;
    double seconds;
    Prometheus metricsBefore = null;
    Prometheus metricsAfter;
    try (ControllerProcess controller =
        ControllerProcess.start(
            controllerJar.jar,
            workDir,
            List.of("-Xmx" + controllerJar.maxHeap),
            meshYaml(steady(null)),
            List.of(),
            Duration.ofMinutes(3))) {
      meshFile = workDir.resolve("mesh").resolve("mesh.yaml");
      nextMeshFile = workDir.resolve("mesh.yaml.next");
      observer = new EdsObserver(controller.ports().xds(), TARGET);
      String bootstrap =
          get(
              controller.ports().http(),
              "/bootstrap?namespace=demo&serviceAccount=bench&pod=bench-0");
      @SuppressWarnings("unchecked")
      Map<String, ?> parsed = (Map<String, ?>) JsonParser.parse(bootstrap);
      XdsNameResolverProvider resolver = XdsNameResolverProvider.createForTest("xds-bench", parsed);
      NameResolverRegistry.getDefaultRegistry().register(resolver);
      ManagedChannel channel =
          Grpc.newChannelBuilder("xds-bench:///" + TARGET, InsecureChannelCredentials.create())
              .build();
      List<Thread> threads = startCallers(channel);
      try {
        awaitCalls(backends.subList(0, steadyBackends));
        long callsBefore = totalCalls();
        long start = System.nanoTime();
        for (int cycle = 0; cycle < warmupCycles + cycles; cycle++) {
          boolean measured = cycle >= warmupCycles;
          if (cycle == warmupCycles) {
            metricsBefore = Prometheus.parse(controller.prometheus());
          }
          runCycle(spare, measured ? timings : new EnumMap<>(Change.class));
          if (measured) {
            System.err.printf(
                Locale.ROOT, "cycle %d of %d done%n", cycle - warmupCycles + 1, cycles);
          }
        }
        seconds = (System.nanoTime() - start) / 1e9;
        calls = totalCalls() - callsBefore;
        metricsAfter = Prometheus.parse(controller.prometheus());
      } finally {
        calling = false;
        for (Thread thread : threads) {
          thread.join(5_000);
        }
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        NameResolverRegistry.getDefaultRegistry().deregister(resolver);
        observer.close();
      }
    } finally {
      for (ProbeBackend backend : backends) {
        backend.close();
      }
    }
    Result result =
        result(timings, calls, seconds, describedJar, loadBefore, metricsBefore, metricsAfter);
    print(result);
    json.write(result);
    // Kept when the run fails (an exception leaves it): the controller's log is there.
    deleteRecursively(workDir);
    return 0;
  }

  private String problem() {
    String jarProblem = controllerJar.problem();
    if (jarProblem != null) {
      return jarProblem;
    }
    if (cycles < 1 || warmupCycles < 0) {
      return "--cycles must be at least 1 and --warmup-cycles at least 0";
    }
    if (steadyBackends < 1 || steadyBackends > 50) {
      return "--backends must be between 1 and 50: " + steadyBackends;
    }
    if (callers < 1 || rate < callers) {
      return "--callers must be at least 1 and --rate at least --callers";
    }
    if (quietMillis < 10 || pauseMillis < 0) {
      return "--quiet-ms must be at least 10 and --pause-ms at least 0";
    }
    return null;
  }

  /** Backends on 127.0.0.1, 127.0.0.2, ..., all on one port (an EndpointSlice has one). */
  private static List<ProbeBackend> startBackends(int count)
      throws IOException, InterruptedException {
    for (int attempt = 0; ; attempt++) {
      int port;
      try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = probe.getLocalPort();
      }
      List<ProbeBackend> started = new ArrayList<>();
      try {
        for (int i = 0; i < count; i++) {
          started.add(new ProbeBackend("127.0.0." + (i + 1), port));
        }
        return started;
      } catch (IOException e) {
        // Another process took the port on one of the addresses meanwhile: try another.
        for (ProbeBackend backend : started) {
          backend.close();
        }
        if (attempt == 5
            || !(e.getCause() instanceof BindException || e instanceof BindException)) {
          throw e;
        }
      }
    }
  }

  /**
   * One cycle: the spare backend is added, marked not ready, ready again, removed, added again,
   * marked terminating, and removed (the last is not timed: it already gets no calls).
   */
  private void runCycle(ProbeBackend spare, Map<Change, List<Timing>> timings)
      throws IOException, InterruptedException {
    time(Change.ADD, spare, Condition.READY, timings);
    time(Change.NOT_READY, spare, Condition.NOT_READY, timings);
    time(Change.READY, spare, Condition.READY, timings);
    time(Change.REMOVE, spare, null, timings);
    time(Change.ADD, spare, Condition.READY, timings);
    time(Change.TERMINATING, spare, Condition.TERMINATING, timings);
    long edited = edit(steady(null));
    if (observer.awaitReceived(edited, e -> !e.containsKey(key(spare)), OUTCOME_TIMEOUT.toNanos())
        < 0) {
      throw new IllegalStateException("the control plane did not push the removal in time");
    }
    Thread.sleep(pauseMillis);
  }

  /** Makes one change to {@code spare} (to {@code condition}, or out of the slice if null). */
  private void time(
      Change change, ProbeBackend spare, Condition condition, Map<Change, List<Timing>> timings)
      throws IOException, InterruptedException {
    spare.forgetFirstArrival();
    long edited = edit(steady(condition == null ? null : Map.entry(spare, condition)));
    long pushed =
        observer.awaitReceived(
            edited,
            endpoints -> endpoints.get(key(spare)) == change.health,
            OUTCOME_TIMEOUT.toNanos());
    if (pushed < 0) {
      throw new IllegalStateException(
          "the control plane did not push the change '" + change.label + "' in time");
    }
    long outcome = change.bringsCalls ? awaitFirstCall(spare) : awaitLastCall(spare);
    timings
        .computeIfAbsent(change, c -> new ArrayList<>())
        .add(new Timing(edited, pushed, outcome, System.nanoTime()));
    Thread.sleep(pauseMillis);
  }

  private long awaitFirstCall(ProbeBackend backend) throws InterruptedException {
    long deadline = System.nanoTime() + OUTCOME_TIMEOUT.toNanos();
    while (backend.firstArrival() == 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the client did not call " + backend.ip() + " in time");
      }
      Thread.sleep(1);
    }
    return backend.firstArrival();
  }

  private long awaitLastCall(ProbeBackend backend) throws InterruptedException {
    long deadline = System.nanoTime() + OUTCOME_TIMEOUT.toNanos();
    long quiet = TimeUnit.MILLISECONDS.toNanos(quietMillis);
    while (System.nanoTime() - backend.lastArrival() < quiet) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the client kept calling " + backend.ip());
      }
      Thread.sleep(5);
    }
    return backend.lastArrival();
  }

  private String key(ProbeBackend backend) {
    return backend.ip() + ":" + backendPort;
  }

  /** The steady backends, ready, and the spare one in its condition if {@code spare} is set. */
  private List<Map.Entry<ProbeBackend, Condition>> steady(
      Map.Entry<ProbeBackend, Condition> spare) {
    List<Map.Entry<ProbeBackend, Condition>> endpoints = new ArrayList<>();
    for (int i = 0; i < steadyBackends; i++) {
      endpoints.add(Map.entry(backends.get(i), Condition.READY));
    }
    if (spare != null) {
      endpoints.add(spare);
    }
    return endpoints;
  }

  private String meshYaml(List<Map.Entry<ProbeBackend, Condition>> endpoints) {
    StringBuilder yaml =
        new StringBuilder(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: %s, namespace: %s}
            spec:
              ports: [{name: grpc, port: %d, appProtocol: grpc}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: %s-1
              namespace: %s
              labels: {kubernetes.io/service-name: %s}
            addressType: IPv4
            ports: [{name: grpc, port: %d}]
            endpoints:
            """
                .formatted(
                    SERVICE, NAMESPACE, SERVICE_PORT, SERVICE, NAMESPACE, SERVICE, backendPort));
    for (Map.Entry<ProbeBackend, Condition> endpoint : endpoints) {
      yaml.append("  - addresses: [\"")
          .append(endpoint.getKey().ip())
          .append("\"]\n    conditions: ")
          .append(endpoint.getValue().yaml)
          .append('\n');
    }
    return yaml.toString();
  }

  /**
   * Replaces the mesh file as an editor or a config sync does (a new file renamed over the old
   * one), and returns when: the moment just before the rename. Read after it, the clock could be
   * late by however long this thread waits for a core on a busy machine, and every step measured
   * from the edit would look that much shorter; read before, an edit is never later than this.
   */
  private long edit(List<Map.Entry<ProbeBackend, Condition>> endpoints) throws IOException {
    Files.writeString(nextMeshFile, meshYaml(endpoints));
    long renamed = System.nanoTime();
    Files.move(
        nextMeshFile,
        meshFile,
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    return renamed;
  }

  private List<Thread> startCallers(ManagedChannel channel) {
    long interval = TimeUnit.SECONDS.toNanos(1) * callers / rate;
    List<Thread> threads = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < callers; i++) {
      // Each caller starts a share of an interval after the previous one, so that the calls are
      // spread evenly rather than in bursts of --callers: a backend's gaps then stay short.
      long offset = interval * i / callers;
      Thread thread =
          new Thread(
              () -> {
                long next = start + offset;
                LockSupport.parkNanos(next - System.nanoTime());
                while (calling) {
                  try {
                    ClientCalls.blockingUnaryCall(
                        channel,
                        ProbeBackend.CALL,
                        CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
                        Empty.getDefaultInstance());
                  } catch (StatusRuntimeException e) {
                    failedCalls.incrementAndGet();
                  }
                  // Paced, without bursts to catch up: a slow call only lowers the rate.
                  next = Math.max(next + interval, System.nanoTime());
                  LockSupport.parkNanos(next - System.nanoTime());
                }
              },
              "caller-" + i);
      thread.setDaemon(true);
      thread.start();
      threads.add(thread);
    }
    return threads;
  }

  private static void awaitCalls(List<ProbeBackend> expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (expected.stream().anyMatch(b -> b.calls() == 0)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the grpc-xds client did not reach every backend in 30 s");
      }
      Thread.sleep(10);
    }
  }

  private long totalCalls() {
    return backends.stream().mapToLong(ProbeBackend::calls).sum();
  }

  private String get(int port, String path) throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException(path + " answered " + response.statusCode());
    }
    return response.body();
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown (no /proc/loadavg)";
    }
  }

  /**
   * One change: when the file was edited, the load assignment received, the calls changed, and when
   * the harness could tell (for a change that takes calls away, --quiet-ms after the last).
   */
  record Timing(long edited, long pushed, long outcome, long known) {}

  /** Percentiles of one step over the changes of a kind, in milliseconds. */
  record Figures(double p50Ms, double p90Ms, double maxMs) {

    static Figures of(List<Timing> samples, ToLongFunction<Timing> nanos) {
      long[] sorted = samples.stream().mapToLong(nanos).sorted().toArray();
      if (sorted.length == 0) {
        return null;
      }
      return new Figures(
          quantile(sorted, 0.5), quantile(sorted, 0.9), sorted[sorted.length - 1] / 1e6);
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.1f / %.1f / %.1f", p50Ms, p90Ms, maxMs);
    }
  }

  /**
   * One kind of change: its steps, and for a change that takes calls away, when the harness could
   * tell (editToSeenDone; null for the others).
   */
  record ChangeFigures(
      int samples,
      Figures editToPushed,
      Figures pushedToClient,
      Figures editToClient,
      Figures editToSeenDone) {}

  /**
   * What the run measured. The controller's timers are their means over the measured cycles, for
   * endpoint responses: from the registry's change to a proxy's ACK (the observer's and the
   * client's), and the building and sending of one response; the rest of edit -> pushed is the
   * directory source's.
   */
  record Result(
      String machine,
      String controller,
      String loadBefore,
      String loadAfter,
      String finishedAt,
      int callers,
      double callsPerSecond,
      double msBetweenCallsToOneBackend,
      long failedCalls,
      int quietMs,
      Map<String, ChangeFigures> changes,
      double controllerConvergenceMeanMs,
      double controllerPushTimeMeanMs) {}

  private Result result(
      Map<Change, List<Timing>> timings,
      long calls,
      double seconds,
      String describedJar,
      String loadBefore,
      Prometheus metricsBefore,
      Prometheus metricsAfter) {
    Map<String, ChangeFigures> changes = new LinkedHashMap<>();
    for (Change change : Change.values()) {
      List<Timing> samples = timings.getOrDefault(change, List.of());
      changes.put(
          change.label,
          new ChangeFigures(
              samples.size(),
              Figures.of(samples, t -> t.pushed() - t.edited()),
              Figures.of(samples, t -> t.outcome() - t.pushed()),
              Figures.of(samples, t -> t.outcome() - t.edited()),
              change.bringsCalls ? null : Figures.of(samples, t -> t.known() - t.edited())));
    }
    double rate = calls / seconds;
    return new Result(
        Machine.describe(),
        describedJar,
        loadBefore,
        loadAverage(),
        Instant.now().toString(),
        callers,
        rate,
        1000.0 * backends.size() / rate,
        failedCalls.get(),
        quietMillis,
        changes,
        meanMillis(metricsBefore, metricsAfter, "weft_xds_convergence_seconds"),
        meanMillis(metricsBefore, metricsAfter, "weft_xds_push_time_seconds"));
  }

  private static double meanMillis(Prometheus before, Prometheus after, String timer) {
    String count = timer + "_count{type=\"endpoint\"}";
    String sum = timer + "_sum{type=\"endpoint\"}";
    double n = after.get(count) - before.get(count);
    return n == 0 ? 0 : 1000 * (after.get(sum) - before.get(sum)) / n;
  }

  private static void print(Result result) {
    System.out.println("endpoint-changes: " + result.machine());
    System.out.println("controller: " + result.controller());
    System.out.println(
        "load before: "
            + result.loadBefore()
            + ", after: "
            + result.loadAfter()
            + "   ("
            + result.finishedAt()
            + ")");
    System.out.printf(
        Locale.ROOT,
        "client: %d callers, %.0f calls/s (%.2f ms between calls to one backend), %d failed%n",
        result.callers(),
        result.callsPerSecond(),
        result.msBetweenCallsToOneBackend(),
        result.failedCalls());
    System.out.println(
        "ms, p50 / p90 / max       edit -> pushed         pushed -> client       edit -> client");
    result
        .changes()
        .forEach(
            (label, figures) ->
                System.out.printf(
                    Locale.ROOT,
                    "%-12s n=%-3d  %-21s  %-21s  %s%n",
                    label,
                    figures.samples(),
                    figures.editToPushed(),
                    figures.pushedToClient(),
                    figures.editToClient()));
    System.out.printf(
        Locale.ROOT,
        "A change that takes calls away is only seen to be done once its endpoint has had no call"
            + " for --quiet-ms (%d ms); edit -> seen done, p50 / p90 / max:%n",
        result.quietMs());
    result
        .changes()
        .forEach(
            (label, figures) -> {
              if (figures.editToSeenDone() != null) {
                System.out.printf(Locale.ROOT, "%-12s %s%n", label, figures.editToSeenDone());
              }
            });
    System.out.printf(
        Locale.ROOT,
        "controller, endpoint responses of the measured cycles: registry change -> ACK mean %.2f"
            + " ms, building and sending one mean %.2f ms%n",
        result.controllerConvergenceMeanMs(),
        result.controllerPushTimeMeanMs());
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  private static double quantile(long[] sorted, double q) {
    return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }
}
