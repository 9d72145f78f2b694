package dev.weft.benchmarks;

import dev.weft.ca.Authenticator;
import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A control plane under test, in a process of its own so that its CPU time and heap are measured
 * apart from the simulated proxies: Weft over plaintext, Weft over mutual TLS on its CA's port, or
 * the reference peer. The harness drives it with one command per line on standard input and reads
 * one answer per line on standard output:
 *
 * <ul>
 *   <li>{@code load SERVICES ENDPOINTS}: loads the mesh; answers {@code ready PORT};
 *   <li>{@code endpoint SERVICE ENDPOINT CHANGE}: moves an endpoint; no answer, so the harness
 *       never waits;
 *   <li>{@code route CHANGE}: the route change (see {@link LoadHarness}); no answer;
 *   <li>{@code stats}: answers {@code stats HEAP_AFTER_GC CPU_NANOS STREAMS} (after full GCs);
 *   <li>{@code cpu}: answers {@code cpu CPU_NANOS}, without disturbing anything;
 *   <li>{@code jit}: answers {@code jit MILLIS}, the time its JIT compilers have spent so far;
 *   <li>{@code forget}: forgets when the endpoint and route changes so far were published;
 *   <li>{@code published FROM COUNT}: answers {@code published NANOS...}, when Weft published each
 *       endpoint change from FROM on ({@link System#nanoTime()}, which every process on the machine
 *       shares), -1 where it has not or the peer cannot say (the reference);
 *   <li>{@code routes-published COUNT}: answers {@code routes-published NANOS...}, when Weft
 *       published route changes 0 to COUNT - 1, -1 where it has not or the peer cannot say;
 *   <li>{@code quit}.
 * </ul>
 */
@Command(name = "control-plane", hidden = true, description = "A control plane for xds-load.")
final class ControlPlaneCommand implements Callable<Integer> {

  /** Which control plane to run. */
  enum Peer {
    WEFT,
    /**
     * Weft's xDS over mutual TLS: the authenticated ADS and LRS services on the port of a CA
     * server, as Weft serves them beside its CSR service.
     */
    WEFT_MTLS,
    REFERENCE
  }

  @Option(names = "--peer", required = true)
  Peer peer;

  @Option(names = "--port", defaultValue = "0")
  int port;

  /**
   * The CA's key material, for {@link Peer#WEFT_MTLS}: the harness made it, and issues the proxies'
   * certificates from its own copy.
   */
  @Option(names = "--ca-dir")
  Path caDirectory;

  /** What each control plane offers the command loop. */
  interface Served extends AutoCloseable {
    int port();

    int streams();

    @Override
    void close();
  }

  private final Publications publications = new Publications();

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
          case "route" -> {
            long change = Long.parseLong(words[1]);
            publications.routeIssued(change);
            source.upsert(BenchMesh.canaryRoute(change));
          }
          case "stats" -> {
            long heap = HeapMeter.usedAfterGc();
            out.println(
                "stats "
                    + heap
                    + " "
                    + Machine.cpuNanos()
                    + " "
                    + (served == null ? 0 : served.streams())
                    + " "
                    + residentBytes());
          }
          case "cpu" -> out.println("cpu " + Machine.cpuNanos());
          case "forget" -> publications.forget();
          case "published" -> out.println(publications.answer(words));
          case "routes-published" -> out.println(publications.routesAnswer(words));
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

  /**
   * The resident set size, Linux's VmRSS: what the heap reading leaves out, such as the TLS
   * engines' native state (BoringSSL's, when Netty's tcnative is in use). It includes the heap's
   * pages once touched, so only a pre-touched heap makes its changes the native memory's.
   */
  private static long residentBytes() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return 0;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmRSS:")) {
        return 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return 0;
  }

  private Served serve(MeshRegistry registry) throws IOException {
    if (peer == Peer.REFERENCE) {
      return ReferenceControlPlane.start(registry, port);
    }
    ConfigDistributor distributor =
        ConfigDistributor.builder(registry).publishListener(publications::published).build();
    if (peer == Peer.WEFT_MTLS) {
      return serveMutualTls(distributor);
    }
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

  /**
   * The distributor's authenticated services on a CA server, as Weft serves xDS over mutual TLS.
   * Its certificate names {@code localhost}, the authority the proxies connect to. The proxies
   * bring certificates and send no CSR, so the only authenticator is the one for renewals.
   */
  private Served serveMutualTls(ConfigDistributor distributor) throws IOException {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(caDirectory)).build();
    CaServer.Builder builder =
        CaServer.builder(ca)
            .port(port)
            .dnsNames(List.of("localhost"))
            .authenticator(Authenticator.currentSvid(ca, Clock.systemUTC()));
    distributor.authenticatedServices().forEach(builder::service);
    CaServer server = builder.start();
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
        try {
          server.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          distributor.close();
        }
      }
    };
  }
}
