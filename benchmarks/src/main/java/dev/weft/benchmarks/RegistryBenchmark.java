package dev.weft.benchmarks;

import dev.weft.registry.ChangeSet;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.Subscription;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Loads M services with K endpoints each (plus their Pods) into the registry through the same
 * {@link RegistrySource} the Kubernetes source uses, measures the heap the registry retains per
 * endpoint, then streams endpoint changes in and measures how many it applies per second and how
 * long each takes from submission to the published snapshot that contains it.
 *
 * <p>Change {@code i} moves one endpoint of service {@code i mod M} to an address that encodes
 * {@code i}, so the subscriber can tell from a snapshot exactly which changes it contains: every
 * latency is measured, none is inferred. The subscriber runs on the registry's writer thread, so
 * its timestamp is the moment of publication (and its cost, reading the merged endpoints as any
 * consumer would, counts against the registry).
 *
 * <p>After a warm-up stream that is not measured (so that the JIT has compiled the hot paths), one
 * saturated run (as fast as the registry applies changes, at most {@code --window} unapplied)
 * measures throughput, and paced runs (fixed rates) measure latency at given loads.
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = "Registry: heap per endpoint, endpoint changes/s, event-to-snapshot latency.")
final class RegistryBenchmark implements Callable<Integer> {

  @Option(names = "--services", defaultValue = "1000", description = "Services (default 1000).")
  int services;

  @Option(
      names = "--endpoints",
      defaultValue = "10",
      description = "Endpoints per service (default 10).")
  int endpointsPerService;

  @Option(
      names = "--changes",
      defaultValue = "100000",
      description = "Endpoint changes per run (default 100000).")
  int changes;

  @Option(
      names = "--rates",
      split = ",",
      defaultValue = "10000,50000",
      description = "Changes per second of each paced run (default 10000,50000).")
  List<Integer> pacedRates;

  @Option(
      names = "--window",
      defaultValue = "256",
      description = "Most changes submitted but not yet published in the saturated run.")
  int windowSize;

  @Option(
      names = "--warmup",
      defaultValue = "300000",
      description =
          "Changes streamed before measuring, so that the JIT has compiled the hot paths"
              + " (default 300000).")
  int warmup;

  @Mixin JsonFigures json;

  private RegistrySource source;
  private BenchMesh mesh;
  private long[] submittedAt;
  private long[] appliedUpTo;
  private Percentiles latencies;
  private final AtomicLong applied = new AtomicLong();
  private Semaphore window;

  @Override
  public Integer call() throws Exception {
    // One tiny mesh first, so that the baseline includes what is loaded once per process (Fabric8's
    // model and serializers, the decoders): what the figure divides by endpoints is what they cost.
    try (MeshRegistry warmUp = MeshRegistry.create()) {
      new BenchMesh(1, 1).load(warmUp, warmUp.registerSource("warm-up"));
    }
    mesh = new BenchMesh(services, endpointsPerService);
    long baseline = HeapMeter.usedAfterGc();
    Result result;
    try (MeshRegistry registry = MeshRegistry.create()) {
      source = registry.registerSource("benchmark");
      long loadStart = System.nanoTime();
      mesh.load(registry, source);
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      long retained = HeapMeter.usedAfterGc() - baseline;
      int endpoints = services * endpointsPerService;

      window = new Semaphore(windowSize);
      appliedUpTo = new long[services];
      Arrays.fill(appliedUpTo, -1);
      Subscription subscription = registry.subscribe(Runnable::run, this::onPublished);
      try {
        run(0, warmup, 0);
        Run saturated = run(warmup, changes, 0);
        List<Run> paced = new ArrayList<>();
        int next = warmup + changes;
        for (int rate : pacedRates) {
          paced.add(run(next, changes, rate));
          next += changes;
        }
        result =
            new Result(
                Machine.describe(),
                services,
                endpoints,
                round(loadSeconds),
                retained,
                round((double) retained / endpoints),
                saturated,
                paced);
      } finally {
        subscription.close();
      }
    }
    print(result);
    json.write(result);
    return 0;
  }

  /** The figures of one benchmark run, as printed and written to JSON. */
  record Result(
      String machine,
      int services,
      int endpoints,
      double loadSeconds,
      long retainedHeapBytes,
      double retainedBytesPerEndpoint,
      Run saturated,
      List<Run> paced) {}

  /**
   * One stream of changes.
   *
   * @param offeredRatePerSecond the pacing rate; 0 when saturated
   */
  record Run(
      int changes,
      int offeredRatePerSecond,
      double seconds,
      long changesPerSecond,
      Percentiles.Summary latencyMicros) {}

  /** Streams {@code count} changes, at {@code rate} per second, or as fast as applied when 0. */
  private Run run(int firstChange, int count, int rate) {
    synchronized (this) {
      submittedAt = new long[firstChange + count];
      latencies = new Percentiles(count);
    }
    long intervalNanos = rate > 0 ? 1_000_000_000L / rate : 0;
    long start = System.nanoTime();
    for (int i = firstChange; i < firstChange + count; i++) {
      if (rate > 0) {
        // Park until the change is due; when behind, submit at once. Never spin: on two cores a
        // spinning producer would steal the writer's CPU.
        long wait = start + (i - firstChange) * intervalNanos - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      } else {
        window.acquireUninterruptibly();
      }
      submittedAt[i] = System.nanoTime();
      mesh.moveEndpoint(source, i % services, (i / services) % endpointsPerService, i);
    }
    awaitApplied(firstChange + count);
    double seconds = (System.nanoTime() - start) / 1e9;
    Percentiles.Summary summary;
    synchronized (this) {
      summary = latencies.summarize();
    }
    return new Run(count, rate, round(seconds), Math.round(count / seconds), summary);
  }

  /**
   * Runs on the writer thread at each publication: finds, per changed service, the newest change
   * the snapshot holds, and records the latency of every change up to it.
   */
  private void onPublished(MeshState state, ChangeSet changes) {
    long now = System.nanoTime();
    long newlyApplied = 0;
    synchronized (this) {
      for (ServiceKey key : changes.endpoints()) {
        int service = BenchMesh.serviceIndex(key.name());
        long newest = -1;
        for (Endpoint endpoint : state.endpoints(key).all()) {
          newest = Math.max(newest, BenchMesh.changeOf(endpoint.address()));
        }
        if (newest < 0 || submittedAt == null) {
          continue;
        }
        for (long i = appliedUpTo[service] < 0 ? service : appliedUpTo[service] + services;
            i <= newest;
            i += services) {
          if (submittedAt[(int) i] != 0) {
            latencies.add(now - submittedAt[(int) i]);
            newlyApplied++;
          }
        }
        appliedUpTo[service] = Math.max(appliedUpTo[service], newest);
      }
    }
    applied.addAndGet(newlyApplied);
    window.release((int) newlyApplied);
  }

  private void awaitApplied(long count) {
    while (applied.get() < count) {
      LockSupport.parkNanos(100_000);
    }
  }

  private static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }

  private static void print(Result result) {
    System.out.println("Registry benchmark on " + result.machine());
    System.out.printf(
        Locale.ROOT,
        "  load      %d services x %d endpoints in %.2f s; heap retained %.1f MiB = %.0f bytes per"
            + " endpoint%n",
        result.services(),
        result.endpoints() / result.services(),
        result.loadSeconds(),
        result.retainedHeapBytes() / 1048576.0,
        result.retainedBytesPerEndpoint());
    printRun("saturated", result.saturated());
    for (Run run : result.paced()) {
      printRun("paced", run);
    }
  }

  private static void printRun(String name, Run run) {
    Percentiles.Summary latency = run.latencyMicros();
    System.out.printf(
        Locale.ROOT,
        "  %-9s %,d changes in %.2f s = %,d changes/s%s; event->snapshot p50 %.0f us, p99 %.0f us,"
            + " p99.9 %.0f us, max %.0f us%n",
        name,
        run.changes(),
        run.seconds(),
        run.changesPerSecond(),
        run.offeredRatePerSecond() > 0 ? " (offered " + run.offeredRatePerSecond() + "/s)" : "",
        latency.p50Micros(),
        latency.p99Micros(),
        latency.p999Micros(),
        latency.maxMicros());
  }
}
