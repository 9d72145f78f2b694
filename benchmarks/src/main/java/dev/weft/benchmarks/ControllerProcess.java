package dev.weft.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Weft application itself, the controller's Spring Boot jar, running standalone in a child JVM
 * on loopback ports of its own, with a small mesh and a bootstrap token file in a work directory.
 * The harness reads it only through what an operator has: the actuator (health, metrics,
 * Prometheus), {@code /debug/ca}, and {@code jcmd} for the full collections that make heap readings
 * comparable.
 *
 * <p>Not thread-safe: the harness drives it from one thread.
 */
final class ControllerProcess implements AutoCloseable {

  /** The ports the child listens on, all on 127.0.0.1 but the CA's, which takes every address. */
  record Ports(int http, int management, int xds, int ca) {}

  /** What the CA serves as, for a workload that wants a certificate. */
  record CaInfo(String spiffeId, String trustBundlePem) {}

  private static final Duration POLL = Duration.ofMillis(200);

  /** Collections per heap reading at most; it stops earlier once two readings agree. */
  private static final int MAX_COLLECTIONS = 6;

  /** Two readings closer than this are the same heap: what a request or a timer allocates. */
  private static final long STABLE_BYTES = 512 * 1024;

  private static final String MESH =
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
        name: greeter-1
        namespace: demo
        labels: {kubernetes.io/service-name: greeter}
      addressType: IPv4
      ports: [{name: grpc, port: 50051}]
      endpoints:
        - addresses: ["10.0.1.11"]
          conditions: {ready: true}
        - addresses: ["10.0.1.12"]
          conditions: {ready: true}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: catalog, namespace: demo}
      spec:
        ports: [{name: http, port: 8080}, {name: admin, port: 9090}]
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: catalog-1
        namespace: demo
        labels: {kubernetes.io/service-name: catalog}
      addressType: IPv4
      ports: [{name: http, port: 8080}, {name: admin, port: 9090}]
      endpoints:
        - addresses: ["10.0.2.21"]
          conditions: {ready: true}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: checkout, namespace: shop}
      spec:
        ports: [{name: grpc, port: 50051, appProtocol: grpc}]
      """;

  private final Process process;
  private final Ports ports;
  private final Path log;
  private final Path tokenFile;
  private final Thread killer;
  private final HttpClient http = HttpClient.newHttpClient();
  private final JsonMapper json = JsonMapper.builder().build();

  private ControllerProcess(Process process, Ports ports, Path log, Path tokenFile) {
    this.process = process;
    this.ports = ports;
    this.log = log;
    this.tokenFile = tokenFile;
    // A harness stopped with Ctrl-C must not leave a controller holding its ports.
    this.killer = new Thread(process::destroyForcibly, "controller-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * Starts {@code jar} in {@code workDir} (its log, mesh, CA data and token file go there) with
   * {@code jvmOptions}, and returns once it is ready and its CA serves, or throws within {@code
   * deadline}.
   */
  static ControllerProcess start(Path jar, Path workDir, List<String> jvmOptions, Duration deadline)
      throws IOException {
    return start(jar, workDir, jvmOptions, MESH, List.of(), deadline);
  }

  /**
   * As {@link #start(Path, Path, List, Duration)}, with the mesh {@code meshYaml} (one file of the
   * standalone config directory) and {@code arguments} (Spring properties, {@code --name=value})
   * after the harness's own.
   */
  static ControllerProcess start(
      Path jar,
      Path workDir,
      List<String> jvmOptions,
      String meshYaml,
      List<String> arguments,
      Duration deadline)
      throws IOException {
    Path mesh = Files.createDirectories(workDir.resolve("mesh"));
    Files.writeString(mesh.resolve("mesh.yaml"), meshYaml);
    // One identity that may get a first certificate; the attacks send other tokens.
    byte[] secret = new byte[16];
    new SecureRandom().nextBytes(secret);
    String token = HexFormat.of().formatHex(secret);
    Path tokens = Files.writeString(workDir.resolve("tokens"), token + " demo greeter\n");
    Path tokenFile = Files.writeString(workDir.resolve("token"), token);
    Ports ports = freePorts();
    Path log = workDir.resolve("controller.log");
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(jvmOptions);
    command.addAll(
        List.of(
            "-jar",
            jar.toAbsolutePath().toString(),
            "--weft.mode=standalone",
            "--weft.config-dir=" + mesh,
            "--server.address=127.0.0.1",
            "--server.port=" + ports.http(),
            "--management.server.address=127.0.0.1",
            "--management.server.port=" + ports.management(),
            "--weft.xds.address=127.0.0.1",
            "--weft.xds.port=" + ports.xds(),
            "--weft.ca.port=" + ports.ca(),
            "--weft.ca.data-dir=" + workDir.resolve("ca"),
            "--weft.ca.bootstrap-tokens=" + tokens));
    command.addAll(arguments);
    Process process =
        new ProcessBuilder(command)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    ControllerProcess controller = new ControllerProcess(process, ports, log, tokenFile);
    try {
      controller.awaitReady(System.nanoTime() + deadline.toNanos());
    } catch (RuntimeException | IOException e) {
      controller.close();
      throw e;
    }
    return controller;
  }

  /**
   * Ports that nothing listens on now. They are free again once closed, so another process could
   * take one before the child does; the child then fails to start, which the harness reports.
   */
  private static Ports freePorts() throws IOException {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    try (ServerSocket http = new ServerSocket(0, 1, loopback);
        ServerSocket management = new ServerSocket(0, 1, loopback);
        ServerSocket xds = new ServerSocket(0, 1, loopback);
        ServerSocket ca = new ServerSocket(0, 1, loopback)) {
      return new Ports(
          http.getLocalPort(), management.getLocalPort(), xds.getLocalPort(), ca.getLocalPort());
    }
  }

  private void awaitReady(long deadlineNanos) throws IOException {
    // Readiness first (the registry has synced, xDS serves); the CA loads its key material off the
    // start-up thread, so it may come up a moment later.
    while (!get(ports.management(), "/actuator/health/readiness").contains("\"UP\"")) {
      pause(deadlineNanos, "ready");
    }
    while (caInfo() == null) {
      pause(deadlineNanos, "serving its CA");
    }
  }

  private void pause(long deadlineNanos, String what) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          "the controller exited with " + process.exitValue() + " before " + what + "; see " + log);
    }
    if (System.nanoTime() > deadlineNanos) {
      throw new IllegalStateException("the controller was not " + what + " in time; see " + log);
    }
    sleep(POLL);
  }

  Ports ports() {
    return ports;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  /** A file holding the bootstrap token of {@code demo/greeter}, for a workload agent. */
  Path tokenFile() {
    return tokenFile;
  }

  /** The CA's SPIFFE ID and trust bundle, or null while it does not serve yet. */
  CaInfo caInfo() {
    String body = get(ports.http(), "/debug/ca");
    if (body.isEmpty()) {
      return null;
    }
    JsonNode ca = json.readTree(body);
    JsonNode spiffeId = ca.get("spiffeId");
    return spiffeId == null || spiffeId.isNull()
        ? null
        : new CaInfo(spiffeId.asString(), ca.get("trustBundlePem").asString());
  }

  /**
   * The child's heap in use after a full collection ({@code jcmd GC.run}, as read by the actuator's
   * {@code jvm.memory.used} for the heap area): collections are repeated until two readings agree,
   * since the child keeps serving (timers, its own metrics) while it is measured.
   */
  long heapAfterGc() {
    long previous = -1;
    long used = 0;
    for (int i = 0; i < MAX_COLLECTIONS; i++) {
      collect();
      used = heapUsed();
      if (previous >= 0 && Math.abs(used - previous) < STABLE_BYTES) {
        return Math.min(used, previous);
      }
      previous = used;
    }
    return used;
  }

  private void collect() {
    Path javaBinary = Path.of(ProcessHandle.current().info().command().orElse("java"));
    Path jcmd = javaBinary.resolveSibling("jcmd");
    try {
      Process gc =
          new ProcessBuilder(
                  Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd",
                  Long.toString(process.pid()),
                  "GC.run")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!gc.waitFor(30, TimeUnit.SECONDS) || gc.exitValue() != 0) {
        gc.destroyForcibly();
        throw new IllegalStateException("jcmd " + process.pid() + " GC.run failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run jcmd (a JDK's, not a JRE's java is needed)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private long heapUsed() {
    JsonNode metric =
        json.readTree(get(ports.management(), "/actuator/metrics/jvm.memory.used?tag=area:heap"));
    return (long) metric.at("/measurements/0/value").asDouble();
  }

  /** The Prometheus scrape, as a monitoring system would get it. */
  String prometheus() {
    return get(ports.management(), "/actuator/prometheus");
  }

  /** One scrape of {@code /actuator/prometheus}: its body and how long it took to arrive whole. */
  record TimedScrape(byte[] body, long nanos) {}

  /**
   * Scrapes {@code /actuator/prometheus} as Prometheus does (text format, a fresh connection),
   * timing it from the request to the last byte. A plain blocking read into one buffer, so that the
   * time is the controller's and the loopback's rather than an HTTP client library's.
   */
  TimedScrape timedPrometheus() {
    try {
      long start = System.nanoTime();
      HttpURLConnection connection =
          (HttpURLConnection)
              URI.create("http://127.0.0.1:" + ports.management() + "/actuator/prometheus")
                  .toURL()
                  .openConnection();
      connection.setRequestProperty("Accept", "text/plain;version=0.0.4");
      connection.setConnectTimeout(10_000);
      connection.setReadTimeout(60_000);
      try {
        if (connection.getResponseCode() != 200) {
          throw new IllegalStateException(
              "/actuator/prometheus answered " + connection.getResponseCode() + "; see " + log);
        }
        byte[] body;
        try (InputStream in = connection.getInputStream()) {
          body = in.readAllBytes();
        }
        return new TimedScrape(body, System.nanoTime() - start);
      } finally {
        connection.disconnect();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot scrape /actuator/prometheus; see " + log, e);
    }
  }

  /**
   * The CPU time the child has used so far, all threads, from {@code /proc/<pid>/stat} (user and
   * system time, in clock ticks of 10 ms): read from outside, so reading it costs the child
   * nothing.
   */
  long cpuNanos() {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      // The command name, in parentheses, may hold spaces: fields are counted after it.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      return ticks * 10_000_000L;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the controller's CPU time (Linux only)", e);
    }
  }

  /**
   * Waits until no ADS stream is open any more (the {@code weft_xds_proxies} gauge is 0): streams a
   * client closed end on their own executors, a moment later. Returns whether they did in time.
   */
  boolean awaitNoProxies(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (Prometheus.parse(prometheus()).value("weft_xds_proxies") > 0) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(POLL);
    }
    return true;
  }

  /** The body of a GET on a loopback port, or "" for any answer but 200. */
  private String get(int port, String path) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build();
    try {
      HttpResponse<String> response =
          http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return response.statusCode() == 200 ? response.body() : "";
    } catch (IOException e) {
      return ""; // not listening yet
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Stops the child as an operator would (SIGTERM: it drains), forcibly after 20 s. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException e) {
      // The JVM is shutting down already: the hook runs, and finds the child gone.
    }
  }
}
