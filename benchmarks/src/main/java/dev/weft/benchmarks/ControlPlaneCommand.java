package dev.weft.benchmarks;

import com.sun.management.OperatingSystemMXBean;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A control plane under test, in a process of its own so that its CPU time and heap are measured
 * apart from the simulated proxies: Weft, or the reference peer. The harness drives it with one
 * command per line on standard input and reads one answer per line on standard output:
 *
 * <ul>
 *   <li>{@code load SERVICES ENDPOINTS}: loads the mesh; answers {@code ready PORT};
 *   <li>{@code endpoint SERVICE ENDPOINT CHANGE}: moves an endpoint; no answer, so the harness
 *       never waits;
 *   <li>{@code route CHANGE}: the route change (see {@link LoadHarness}); no answer;
 *   <li>{@code stats}: answers {@code stats HEAP_AFTER_GC CPU_NANOS STREAMS} (after full GCs);
 *   <li>{@code cpu}: answers {@code cpu CPU_NANOS}, without disturbing anything;
 *   <li>{@code jit}: answers {@code jit MILLIS}, the time its JIT compilers have spent so far;
 *   <li>{@code quit}.
 * </ul>
 */
@Command(name = "control-plane", hidden = true, description = "A control plane for xds-load.")
final class ControlPlaneCommand implements Callable<Integer> {

  /** Which control plane to run. */
  enum Peer {
    WEFT,
    REFERENCE
  }

  @Option(names = "--peer", required = true)
  Peer peer;

  @Option(names = "--port", defaultValue = "0")
  int port;

  /** What the two control planes offer the command loop. */
  interface Served extends AutoCloseable {
    int port();

    int streams();

    @Override
    void close();
  }

  @Override
  public Integer call() throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    MeshRegistry registry = MeshRegistry.create();
    RegistrySource source = registry.registerSource("benchmark");
    BenchMesh mesh = null;
    Served served = null;
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.trim().split(" ");
        switch (words[0]) {
          case "load" -> {
            mesh = new BenchMesh(Integer.parseInt(words[1]), Integer.parseInt(words[2]));
            mesh.load(registry, source);
            source.markSynced();
            served = serve(registry);
            out.println("ready " + served.port());
          }
          case "endpoint" ->
              mesh.moveEndpoint(
                  source,
                  Integer.parseInt(words[1]),
                  Integer.parseInt(words[2]),
                  Long.parseLong(words[3]));
          case "route" -> source.upsert(BenchMesh.canaryRoute(Long.parseLong(words[1])));
          case "stats" -> {
            long heap = HeapMeter.usedAfterGc();
            out.println(
                "stats " + heap + " " + cpuNanos() + " " + (served == null ? 0 : served.streams()));
          }
          case "cpu" -> out.println("cpu " + cpuNanos());
          case "jit" ->
              out.println(
                  "jit " + ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
          case "quit" -> {
            return 0;
          }
          default -> out.println("error unknown command " + words[0]);
        }
      }
      return 0;
    } finally {
      if (served != null) {
        served.close();
      }
      registry.close();
    }
  }

  private static long cpuNanos() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private Served serve(MeshRegistry registry) {
    if (peer == Peer.REFERENCE) {
      return ReferenceControlPlane.start(registry, port);
    }
    ConfigDistributor distributor = ConfigDistributor.builder(registry).build();
    XdsServer server = XdsServer.start(distributor, port);
    return new Served() {
      @Override
      public int port() {
        return server.port();
      }

      @Override
      public int streams() {
        return distributor.connectedProxies();
      }

      @Override
      public void close() {
        server.close();
        distributor.close();
      }
    };
  }
}
