package dev.weft.benchmarks;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Issue 14's telemetry benchmark: the controller's jar, standalone in a child JVM, receives OTLP
 * metric exports over gRPC from simulated proxyless gRPC workloads, each shaped as grpc-java's
 * {@code grpc-opentelemetry} plugin and the OpenTelemetry SDK's OTLP exporter send them (cumulative
 * {@code grpc.client.attempt.duration} and {@code grpc.server.call.duration} histograms with grpc's
 * 40 boundaries, in seconds). The collector's CPU and heap are read from its own process, so they
 * are not the load generator's.
 *
 * <p>How pods map to labels: {@code --workloads} pods are replicas of {@code --workload-names}
 * workloads {@code svc-<i>} in namespace {@code bench}; workload {@code svc-<i>} is the backend of
 * Service {@code svc-<i>} (the mesh has one Service per workload, with an endpoint per replica) and
 * calls Services {@code svc-<i+1>} and {@code svc-<i+2>}. Each pod exports 20 series: as a client,
 * 2 targets x 3 methods x 2 statuses (OK, UNAVAILABLE); as a server, 4 methods x 2 statuses. Golden
 * series drop the method and the pod: 6 per workload (4 as a source, 2 as a destination).
 *
 * <p>Bad input ({@code --invent-seconds}): some pods also export, every interval, a point with a
 * grpc.method, a grpc.target and a service.version never seen before, for as long as asked; the run
 * prints the series and the heap after GC as it goes.
 */
@Command(
    name = "telemetry",
    mixinStandardHelpOptions = true,
    description = {
      "The telemetry collector under load (issue 14): starts the controller jar standalone"
          + " (loopback ports, a mesh of one Service per workload) and has --workloads simulated"
          + " pods export 20 OTLP histogram series each every --interval-seconds over gRPC, as"
          + " grpc-opentelemetry and the OpenTelemetry SDK do. Prints exports/s sustained, the"
          + " collector's CPU (cores, and µs per export), its heap after GC, the golden series, and"
          + " the time and size of /actuator/prometheus scrapes.",
      "With --invent-seconds, then has --inventing-pods pods invent a grpc.method, grpc.target and"
          + " service.version per export, and prints series and heap after GC over time."
          + " Needs a JDK (jcmd) and Linux (/proc)."
    })
final class TelemetryBenchmark implements Callable<Integer> {

  static final String NAMESPACE = "bench";
  static final int PORT = 8080;

  /** grpc-java's boundaries for its latency histograms (gRFC A66), in seconds. */
  static final List<Double> GRPC_BOUNDS_SECONDS =
      List.of(
          0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005,
          0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13,
          0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0);

  static final List<String> CLIENT_METHODS =
      List.of("shop.Catalog/GetItem", "shop.Catalog/ListItems", "shop.Cart/AddItem");
  static final List<String> SERVER_METHODS =
      List.of(
          "shop.Catalog/GetItem", "shop.Catalog/ListItems", "shop.Cart/AddItem", "shop.Cart/Get");
  static final List<String> STATUSES = List.of("OK", "UNAVAILABLE");
  static final int TARGETS_PER_WORKLOAD = 2;

  /** Series one pod exports: client and server points together. */
  static final int SERIES_PER_POD =
      TARGETS_PER_WORKLOAD * CLIENT_METHODS.size() * STATUSES.size()
          + SERVER_METHODS.size() * STATUSES.size();

  /**
   * Golden series one workload makes: 2 targets x 2 statuses as a source, 2 statuses as a server.
   */
  static final int GOLDEN_SERIES_PER_WORKLOAD =
      TARGETS_PER_WORKLOAD * STATUSES.size() + STATUSES.size();

  private static final double MIB = 1024.0 * 1024.0;

  private static final int SCRAPES_UNTIMED = 3;

  @Mixin ControllerJarOptions controllerJar;

  @Option(
      names = "--controller-jvm-options",
      defaultValue = "",
      description =
          "More JVM options for the controller, space-separated (a flight recording, say).")
  String controllerJvmOptions;

  @Option(
      names = "--workloads",
      defaultValue = "10000",
      description = "Simulated pods, each an OTLP sender (default ${DEFAULT-VALUE}).")
  int pods;

  @Option(
      names = "--workload-names",
      defaultValue = "1000",
      description =
          "Distinct workloads (and Services) the pods are replicas of (default ${DEFAULT-VALUE}).")
  int workloads;

  @Option(
      names = "--interval-seconds",
      defaultValue = "10",
      description =
          "Each pod exports every so often, as PeriodicMetricReader (default ${DEFAULT-VALUE}).")
  int intervalSeconds;

  @Option(
      names = "--calls",
      defaultValue = "50",
      description =
          "Calls per series between two exports of a pod (default ${DEFAULT-VALUE}: 100 calls/s"
              + " per pod at 10 s).")
  int callsPerSeries;

  @Option(
      names = "--channels",
      defaultValue = "64",
      description = "gRPC connections the pods share (default ${DEFAULT-VALUE}).")
  int channels;

  @Option(
      names = "--warmup-seconds",
      defaultValue = "40",
      description =
          "Load before measuring: every series exists, the JIT is done (default ${DEFAULT-VALUE}).")
  int warmupSeconds;

  @Option(
      names = "--measure-seconds",
      defaultValue = "60",
      description =
          "The window over which CPU and exports/s are measured (default ${DEFAULT-VALUE}).")
  int measureSeconds;

  @Option(
      names = "--scrapes",
      defaultValue = "20",
      description = "Scrapes of /actuator/prometheus timed, under load (default ${DEFAULT-VALUE}).")
  int scrapes;

  @Option(
      names = "--max-series",
      defaultValue = "10000",
      description = "weft.telemetry.max-series for the controller (default ${DEFAULT-VALUE}).")
  int maxSeries;

  @Option(
      names = "--max-tracked-series",
      defaultValue = "250000",
      description =
          "weft.telemetry.max-tracked-series for the controller: at least --workloads x 20"
              + " (default ${DEFAULT-VALUE}).")
  int maxTrackedSeries;

  @Option(
      names = "--invent-seconds",
      defaultValue = "0",
      description =
          "Then, bad input for this long: pods invent label values (default ${DEFAULT-VALUE}: none).")
  int inventSeconds;

  @Option(
      names = "--inventing-pods",
      defaultValue = "1000",
      description =
          "Pods that invent a method, target and version per export (default ${DEFAULT-VALUE}).")
  int inventingPods;

  @Option(
      names = "--reading-seconds",
      defaultValue = "60",
      description =
          "During bad input, a reading of series and heap this often (default ${DEFAULT-VALUE}).")
  int readingSeconds;

  @Option(names = "--scrape-file", description = "Write the last timed scrape to this file.")
  Path scrapeFile;

  @Mixin JsonFigures json;

  @Option(names = "--keep", description = "Keep the work directory (the controller's log).")
  boolean keep;

  @Spec CommandSpec spec;

  /** The figures of one run, as printed and written to JSON. */
  record Result(
      String machine,
      String controller,
      String mapping,
      int pods,
      int workloads,
      int services,
      int seriesPerPod,
      int intervalSeconds,
      int callsPerSeries,
      double exportsPerSecondOffered,
      double exportsPerSecondSustained,
      long exportsFailed,
      long pointsRejected,
      double collectorCores,
      double cpuMicrosPerExport,
      double loadGeneratorCores,
      double heapBaselineMib,
      double heapUnderLoadMib,
      int goldenSeries,
      int goldenSeriesExpected,
      double scrapeP50Millis,
      double scrapeP99Millis,
      double scrapeMaxMillis,
      double scrapeCpuMillis,
      double scrapeMib,
      int scrapeLines,
      List<String> overflow,
      List<Reading> badInput,
      double seconds) {}

  /** One reading during bad input. */
  record Reading(
      int second,
      long inventedPoints,
      int goldenSeries,
      double heapMib,
      double overflowCumulative,
      double overflowGolden,
      double unknownDestinations) {}

  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong rejectedPoints = new AtomicLong();
  private final AtomicLong invented = new AtomicLong();
  private volatile String lastFailure = "";
  private volatile boolean inventing;

  @Override
  public Integer call() throws Exception {
    String problem = problem();
    if (problem != null) {
      spec.commandLine().getErr().println(problem);
      return spec.exitCodeOnInvalidInput();
    }
    long start = System.nanoTime();
    Path workDir = Files.createTempDirectory("weft-telemetry-bench");
    String describedJar = controllerJar.describe();
    List<String> jvm = new ArrayList<>(List.of("-Xmx" + controllerJar.maxHeap));
    if (!controllerJvmOptions.isBlank()) {
      jvm.addAll(Arrays.asList(controllerJvmOptions.trim().split("\\s+")));
    }
    System.err.println("starting " + describedJar + " in " + workDir);
    Result result;
    try (ControllerProcess controller =
        ControllerProcess.start(
            controllerJar.jar,
            workDir,
            jvm,
            meshYaml(workloads, pods / workloads),
            List.of(
                "--weft.telemetry.max-series=" + maxSeries,
                "--weft.telemetry.max-tracked-series=" + maxTrackedSeries),
            Duration.ofMinutes(3))) {
      double baseline = controller.heapAfterGc() / MIB;
      System.err.printf(
          Locale.ROOT, "heap after GC, mesh loaded, no telemetry: %.1f MiB%n", baseline);
      List<ManagedChannel> opened = new ArrayList<>();
      for (int c = 0; c < channels; c++) {
        opened.add(
            ManagedChannelBuilder.forAddress("127.0.0.1", controller.ports().xds())
                .usePlaintext()
                .build());
      }
      Sender sender = new Sender(opened);
      Thread senderThread = new Thread(sender, "otlp-senders");
      senderThread.setDaemon(true);
      senderThread.start();
      try {
        System.err.println("warming up for " + warmupSeconds + " s");
        sleep(Duration.ofSeconds(warmupSeconds));
        long cpuBefore = controller.cpuNanos();
        long ownCpuBefore = Machine.cpuNanos();
        long completedBefore = completed.get();
        long sentBefore = sent.get();
        long windowStart = System.nanoTime();
        System.err.println("measuring for " + measureSeconds + " s");
        sleep(Duration.ofSeconds(measureSeconds));
        long windowNanos = System.nanoTime() - windowStart;
        long cpu = controller.cpuNanos() - cpuBefore;
        long ownCpu = Machine.cpuNanos() - ownCpuBefore;
        long exports = completed.get() - completedBefore;
        long offered = sent.get() - sentBefore;
        System.err.println("scraping " + scrapes + " times, under load");
        // Untimed first: the first scrapes compile the code that writes them, once a process.
        for (int i = 0; i < SCRAPES_UNTIMED; i++) {
          var unused = controller.timedPrometheus();
        }
        Percentiles scrapeTimes = new Percentiles(scrapes);
        ControllerProcess.TimedScrape last = null;
        long scrapeCpuBefore = controller.cpuNanos();
        long scrapesStart = System.nanoTime();
        for (int i = 0; i < scrapes; i++) {
          last = controller.timedPrometheus();
          scrapeTimes.add(last.nanos());
        }
        long scrapesNanos = System.nanoTime() - scrapesStart;
        // The collector's CPU while scraping, less what the exports took meanwhile.
        double scrapeCpuMillis =
            Math.max(
                    0,
                    controller.cpuNanos()
                        - scrapeCpuBefore
                        - cpu / (double) windowNanos * scrapesNanos)
                / 1e6
                / scrapes;
        if (scrapeFile != null) {
          Files.write(scrapeFile, last.body());
        }
        String text = new String(last.body(), java.nio.charset.StandardCharsets.UTF_8);
        Prometheus scrape = Prometheus.parse(text);
        System.err.println("heap after GC, under load");
        double heap = controller.heapAfterGc() / MIB;
        List<Reading> readings = new ArrayList<>();
        if (inventSeconds > 0) {
          readings = badInput(controller);
        }
        Percentiles.Summary scrapeSummary = scrapeTimes.summarize();
        double seconds = windowNanos / 1e9;
        result =
            new Result(
                Machine.describe(),
                describedJar + ", -Xmx" + controllerJar.maxHeap + " " + controllerJvmOptions,
                mapping(),
                pods,
                workloads,
                workloads,
                SERIES_PER_POD,
                intervalSeconds,
                callsPerSeries,
                round(offered / seconds),
                round(exports / seconds),
                failed.get(),
                rejectedPoints.get(),
                round3(cpu / (double) windowNanos),
                round(exports == 0 ? 0 : cpu / 1e3 / exports),
                round3(ownCpu / (double) windowNanos),
                round(baseline),
                round(heap),
                scrape.count("weft_requests_total{"),
                workloads * GOLDEN_SERIES_PER_WORKLOAD,
                round(scrapeSummary.p50Micros() / 1e3),
                round(scrapeSummary.p99Micros() / 1e3),
                round(scrapeSummary.maxMicros() / 1e3),
                round(scrapeCpuMillis),
                round(last.body().length / MIB),
                (int) text.lines().count(),
                overflow(scrape),
                readings,
                round((System.nanoTime() - start) / 1e9));
      } finally {
        sender.stop();
        senderThread.join(10_000);
        for (ManagedChannel channel : opened) {
          channel.shutdownNow();
        }
      }
    }
    print(result);
    json.write(result);
    if (keep) {
      System.out.println("work directory kept: " + workDir);
    } else {
      deleteRecursively(workDir);
    }
    return failed.get() == 0 ? 0 : 1;
  }

  private String problem() {
    String jarProblem = controllerJar.problem();
    if (jarProblem != null) {
      return jarProblem;
    }
    if (workloads < 3) {
      return "--workload-names must be at least 3 (each calls the next two): " + workloads;
    }
    if (pods < workloads || pods % workloads != 0) {
      return "--workloads must be a multiple of --workload-names (" + workloads + "): " + pods;
    }
    if (intervalSeconds < 1 || callsPerSeries < 1 || channels < 1 || scrapes < 1) {
      return "--interval-seconds, --calls, --channels and --scrapes must be at least 1";
    }
    if (measureSeconds < 1 || warmupSeconds < 0 || inventSeconds < 0 || readingSeconds < 1) {
      return "--measure-seconds and --reading-seconds must be at least 1; --warmup-seconds and"
          + " --invent-seconds at least 0";
    }
    if (inventSeconds > 0 && (inventingPods < 1 || inventingPods > pods)) {
      return "--inventing-pods must be between 1 and --workloads: " + inventingPods;
    }
    return null;
  }

  private String mapping() {
    return String.format(
        Locale.ROOT,
        "%,d pods = %,d replicas of each of %,d workloads svc-<i> (namespace %s), each the backend"
            + " of Service svc-<i> and calling svc-<i+1> and svc-<i+2>; per pod %d series (client:"
            + " %d targets x %d methods x %d statuses; server: %d methods x %d statuses), every %d"
            + " s, %d calls per series per export; golden series drop method and pod: %d per"
            + " workload",
        pods,
        pods / workloads,
        workloads,
        NAMESPACE,
        SERIES_PER_POD,
        TARGETS_PER_WORKLOAD,
        CLIENT_METHODS.size(),
        STATUSES.size(),
        SERVER_METHODS.size(),
        STATUSES.size(),
        intervalSeconds,
        callsPerSeries,
        GOLDEN_SERIES_PER_WORKLOAD);
  }

  /** Bad input: the inventing pods start; a reading every {@code --reading-seconds}. */
  private List<Reading> badInput(ControllerProcess controller) {
    System.err.printf(
        Locale.ROOT,
        "bad input for %d s: %,d pods invent a method, target and version per export%n",
        inventSeconds,
        inventingPods);
    List<Reading> readings = new ArrayList<>();
    readings.add(reading(controller, 0));
    inventing = true;
    long begin = System.nanoTime();
    for (int next = readingSeconds; next <= inventSeconds; next += readingSeconds) {
      long due = begin + TimeUnit.SECONDS.toNanos(next);
      sleep(Duration.ofNanos(Math.max(0, due - System.nanoTime())));
      readings.add(reading(controller, next));
    }
    inventing = false;
    return readings;
  }

  private Reading reading(ControllerProcess controller, int second) {
    double heap = controller.heapAfterGc() / MIB;
    Prometheus scrape = Prometheus.parse(controller.prometheus());
    Reading reading =
        new Reading(
            second,
            invented.get(),
            scrape.count("weft_requests_total{"),
            round(heap),
            scrape.get("weft_telemetry_series_overflow_total{stage=\"cumulative\"}"),
            scrape.get("weft_telemetry_series_overflow_total{stage=\"golden\"}"),
            scrape.value("weft_telemetry_destinations_unknown_total"));
    System.err.printf(
        Locale.ROOT,
        "  %5d s: %,d invented points, %,d golden series, heap %.1f MiB, overflow cumulative"
            + " %,.0f golden %,.0f, unknown destinations %,.0f%n",
        second,
        reading.inventedPoints(),
        reading.goldenSeries(),
        reading.heapMib(),
        reading.overflowCumulative(),
        reading.overflowGolden(),
        reading.unknownDestinations());
    return reading;
  }

  private static List<String> overflow(Prometheus scrape) {
    List<String> counters = new ArrayList<>();
    scrape
        .series()
        .forEach(
            (series, value) -> {
              if (series.startsWith("weft_telemetry_")) {
                counters.add(String.format(Locale.ROOT, "%s %,.0f", series, value));
              }
            });
    return counters;
  }

  /**
   * Sends the exports on time: pod {@code p}'s k-th export is due at {@code k x interval + p x
   * interval / pods}, so the load is even. Exports are asynchronous, at most a few thousand in
   * flight; a collector that cannot keep up shows as fewer exports per second sustained.
   */
  private final class Sender implements Runnable {
    private final List<ManagedChannel> channels;
    private final Semaphore inFlight = new Semaphore(4096);
    private final long startUnixNanos =
        System.currentTimeMillis() * 1_000_000L - 3_600_000_000_000L;
    private volatile boolean running = true;

    Sender(List<ManagedChannel> channels) {
      this.channels = channels;
    }

    void stop() {
      running = false;
    }

    @Override
    public void run() {
      long begin = System.nanoTime();
      double nanosPerExport = TimeUnit.SECONDS.toNanos(intervalSeconds) / (double) pods;
      long sequence = 0;
      while (running) {
        long now = System.nanoTime() - begin;
        while (running && sequence * nanosPerExport <= now) {
          int pod = (int) (sequence % pods);
          long export = sequence / pods + 1;
          send(pod, export, sequence);
          sequence++;
        }
        sleep(Duration.ofMillis(2));
      }
    }

    private void send(int pod, long export, long sequence) {
      try {
        inFlight.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        running = false;
        return;
      }
      boolean invent = inventing && pod < inventingPods;
      ExportMetricsServiceRequest request = request(pod, export, invent ? sequence : -1);
      if (invent) {
        // Its new version makes every point of the export a series never seen.
        invented.addAndGet(SERIES_PER_POD + 2);
      }
      sent.incrementAndGet();
      MetricsServiceGrpc.newStub(channels.get(pod % channels.size()))
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .export(
              request,
              new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(ExportMetricsServiceResponse response) {
                  rejectedPoints.addAndGet(response.getPartialSuccess().getRejectedDataPoints());
                }

                @Override
                public void onError(Throwable t) {
                  failed.incrementAndGet();
                  lastFailure = String.valueOf(t);
                  inFlight.release();
                }

                @Override
                public void onCompleted() {
                  completed.incrementAndGet();
                  inFlight.release();
                }
              });
    }

    /**
     * Pod {@code pod}'s {@code export}-th export: cumulative totals since its start, {@code export}
     * times the calls of one interval. With {@code invention} at 0 or more, one more client point
     * and one more server point whose method, target and version were never seen.
     */
    private ExportMetricsServiceRequest request(int pod, long export, long invention) {
      int workload = pod % workloads;
      int replica = pod / workloads;
      String name = "svc-" + workload;
      long nowNanos = System.currentTimeMillis() * 1_000_000L;
      String version = invention >= 0 ? "v-" + invention : "v1";
      Resource resource =
          Resource.newBuilder()
              .addAttributes(text("k8s.namespace.name", NAMESPACE))
              .addAttributes(text("k8s.pod.name", name + "-7d9f8c6b5-" + replica))
              .addAttributes(text("service.instance.id", name + "-" + replica))
              .addAttributes(text("service.name", name))
              .addAttributes(text("service.version", version))
              .addAttributes(text("telemetry.sdk.language", "java"))
              .addAttributes(text("telemetry.sdk.name", "opentelemetry"))
              .addAttributes(text("telemetry.sdk.version", "1.68.0"))
              .build();
      Histogram.Builder client = histogram();
      for (int t = 1; t <= TARGETS_PER_WORKLOAD; t++) {
        String target =
            "xds:///svc-"
                + (workload + t) % workloads
                + "."
                + NAMESPACE
                + ".svc.cluster.local:"
                + PORT;
        for (String method : CLIENT_METHODS) {
          for (String status : STATUSES) {
            client.addDataPoints(point(method, target, status, export, nowNanos));
          }
        }
      }
      Histogram.Builder server = histogram();
      for (String method : SERVER_METHODS) {
        for (String status : STATUSES) {
          server.addDataPoints(point(method, null, status, export, nowNanos));
        }
      }
      if (invention >= 0) {
        String method = "shop.Invented/M" + invention;
        client.addDataPoints(
            point(
                method,
                "xds:///made-up-" + invention + ".bench.svc.cluster.local:8080",
                "OK",
                1,
                nowNanos));
        server.addDataPoints(point(method, null, "OK", 1, nowNanos));
      }
      return ExportMetricsServiceRequest.newBuilder()
          .addResourceMetrics(
              ResourceMetrics.newBuilder()
                  .setResource(resource)
                  .addScopeMetrics(
                      ScopeMetrics.newBuilder()
                          .setScope(
                              InstrumentationScope.newBuilder()
                                  .setName("grpc-java")
                                  .setVersion("1.85.1"))
                          .addMetrics(
                              Metric.newBuilder()
                                  .setName("grpc.client.attempt.duration")
                                  .setDescription("Time taken to complete a client call attempt")
                                  .setUnit("s")
                                  .setHistogram(client))
                          .addMetrics(
                              Metric.newBuilder()
                                  .setName("grpc.server.call.duration")
                                  .setDescription(
                                      "Time taken to complete a call from server transport's"
                                          + " perspective")
                                  .setUnit("s")
                                  .setHistogram(server))))
          .build();
    }

    private Histogram.Builder histogram() {
      return Histogram.newBuilder()
          .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE);
    }

    /**
     * A point as the SDK exports it: attributes sorted by key, 41 bucket counts, min and max. The
     * calls of one interval fall in a few buckets around 2-30 ms (errors faster).
     */
    private HistogramDataPoint point(
        String method, String target, String status, long export, long nowNanos) {
      HistogramDataPoint.Builder point =
          HistogramDataPoint.newBuilder()
              .setStartTimeUnixNano(startUnixNanos)
              .setTimeUnixNano(nowNanos)
              .addAttributes(text("grpc.method", method))
              .addAttributes(text("grpc.status", status));
      if (target != null) {
        point.addAttributes(text("grpc.target", target));
      }
      boolean ok = status.equals("OK");
      int calls = ok ? callsPerSeries : Math.max(1, callsPerSeries / 10);
      long[] perInterval = new long[GRPC_BOUNDS_SECONDS.size() + 1];
      // Buckets 8..11 are 2-6 ms, 17 is 20-25 ms; errors at 1-2 ms (bucket 7).
      if (ok) {
        perInterval[8] = calls * 4L / 10;
        perInterval[9] = calls * 3L / 10;
        perInterval[11] = calls * 2L / 10;
        perInterval[17] = calls - perInterval[8] - perInterval[9] - perInterval[11];
      } else {
        perInterval[7] = calls;
      }
      double sumPerInterval = 0;
      for (int i = 0; i < perInterval.length; i++) {
        point.addBucketCounts(perInterval[i] * export);
        if (perInterval[i] > 0) {
          sumPerInterval += perInterval[i] * GRPC_BOUNDS_SECONDS.get(i - 1) * 1.2;
        }
      }
      return point
          .setCount(calls * export)
          .setSum(sumPerInterval * export)
          .addAllExplicitBounds(GRPC_BOUNDS_SECONDS)
          .setMin(ok ? 0.0021 : 0.0011)
          .setMax(ok ? 0.024 : 0.0019)
          .build();
    }
  }

  private static KeyValue text(String key, String value) {
    return KeyValue.newBuilder()
        .setKey(key)
        .setValue(AnyValue.newBuilder().setStringValue(value))
        .build();
  }

  /**
   * The standalone mesh: {@code services} Services {@code svc-<i>} in namespace {@code bench}, a
   * gRPC port 8080 each, and an EndpointSlice of {@code replicas} ready endpoints.
   */
  static String meshYaml(int services, int replicas) {
    StringBuilder yaml = new StringBuilder();
    for (int s = 0; s < services; s++) {
      yaml.append(
          String.format(
              Locale.ROOT,
              """
              apiVersion: v1
              kind: Service
              metadata: {name: svc-%1$d, namespace: %2$s}
              spec:
                ports: [{name: grpc, port: %3$d, appProtocol: grpc}]
              ---
              apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata:
                name: svc-%1$d-1
                namespace: %2$s
                labels: {kubernetes.io/service-name: svc-%1$d}
              addressType: IPv4
              ports: [{name: grpc, port: %3$d}]
              endpoints:
              """,
              s,
              NAMESPACE,
              PORT));
      for (int r = 0; r < replicas; r++) {
        int n = s * replicas + r;
        yaml.append(
            String.format(
                Locale.ROOT,
                "  - addresses: [\"11.%d.%d.%d\"]%n    conditions: {ready: true}%n",
                n >> 16 & 255,
                n >> 8 & 255,
                n & 255));
      }
      yaml.append("---\n");
    }
    return yaml.toString();
  }

  private void print(Result r) {
    System.out.println("Telemetry collector under load (issue 14)");
    System.out.println("machine:    " + r.machine());
    System.out.println("controller: " + r.controller());
    System.out.println("mapping:    " + r.mapping());
    System.out.printf(
        Locale.ROOT,
        "bounds:     weft.telemetry.max-series=%,d, max-tracked-series=%,d (senders' series: %,d)%n",
        maxSeries,
        maxTrackedSeries,
        (long) r.pods() * r.seriesPerPod());
    System.out.printf(
        Locale.ROOT,
        "exports/s:  %,.1f sustained of %,.1f offered (%,d failed%s; %,d points rejected)%n",
        r.exportsPerSecondSustained(),
        r.exportsPerSecondOffered(),
        r.exportsFailed(),
        r.exportsFailed() == 0 ? "" : ", last: " + lastFailure,
        r.pointsRejected());
    System.out.printf(
        Locale.ROOT,
        "collector:  %.3f cores, %.1f µs of CPU per export (%.2f µs per data point); load"
            + " generator %.3f cores%n",
        r.collectorCores(),
        r.cpuMicrosPerExport(),
        r.cpuMicrosPerExport() / r.seriesPerPod(),
        r.loadGeneratorCores());
    System.out.printf(
        Locale.ROOT,
        "heap:       %.1f MiB after GC under load (%.1f MiB with the mesh alone; +%.1f MiB)%n",
        r.heapUnderLoadMib(),
        r.heapBaselineMib(),
        r.heapUnderLoadMib() - r.heapBaselineMib());
    System.out.printf(
        Locale.ROOT,
        "golden:     %,d series (%,d expected)%n",
        r.goldenSeries(),
        r.goldenSeriesExpected());
    System.out.printf(
        Locale.ROOT,
        "scrape:     p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d scrapes (after %d untimed);"
            + " %.0f ms of the collector's CPU each; %.1f MiB, %,d lines%n",
        r.scrapeP50Millis(),
        r.scrapeP99Millis(),
        r.scrapeMaxMillis(),
        scrapes,
        SCRAPES_UNTIMED,
        r.scrapeCpuMillis(),
        r.scrapeMib(),
        r.scrapeLines());
    r.overflow().forEach(counter -> System.out.println("            " + counter));
    if (!r.badInput().isEmpty()) {
      System.out.println("bad input:  second, invented points, golden series, heap MiB after GC");
      for (Reading reading : r.badInput()) {
        System.out.printf(
            Locale.ROOT,
            "            %5d s  %,12d  %,7d  %7.1f   (overflow cumulative %,.0f, golden %,.0f;"
                + " unknown destinations %,.0f)%n",
            reading.second(),
            reading.inventedPoints(),
            reading.goldenSeries(),
            reading.heapMib(),
            reading.overflowCumulative(),
            reading.overflowGolden(),
            reading.unknownDestinations());
      }
    }
    System.out.printf(Locale.ROOT, "took %.0f s%n", r.seconds());
  }

  private static double round(double value) {
    return Math.round(value * 10) / 10.0;
  }

  private static double round3(double value) {
    return Math.round(value * 1000) / 1000.0;
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
