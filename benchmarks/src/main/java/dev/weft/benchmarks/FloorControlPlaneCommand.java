package dev.weft.benchmarks;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.DirectorySource;
import dev.weft.registry.KubernetesSource;
import dev.weft.registry.MeshRegistry;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Weft's control plane for {@link FloorBenchmark}, in a JVM of its own: the registry fed by one of
 * Weft's real sources, {@link KubernetesSource} (Fabric8 informers on the harness's API server) or
 * {@link DirectorySource} (a config directory the harness edits), and a {@link ConfigDistributor}
 * serving ADS. The harness drives it with one command per line on standard input:
 *
 * <ul>
 *   <li>at start, once the source has synced and ADS serves, it prints {@code ready PORT};
 *   <li>{@code published FROM COUNT}: answers {@code published NANOS...}, when Weft published each
 *       endpoint change from FROM on ({@link System#nanoTime()}, {@code CLOCK_MONOTONIC}, which
 *       every process on the machine shares), -1 where it has not;
 *   <li>{@code quit}.
 * </ul>
 */
@Command(
    name = "floor-control-plane",
    hidden = true,
    description = "Weft's control plane on a real source, for xds-floor.")
final class FloorControlPlaneCommand implements Callable<Integer> {

  /** Where the mesh comes from: exactly one. */
  static final class Source {
    @Option(names = "--api-server", required = true, description = "The API server's URL.")
    String apiServer;

    @Option(names = "--config-dir", required = true, description = "The config directory.")
    Path configDirectory;
  }

  @ArgGroup(multiplicity = "1")
  Source source;

  private static final long SYNC_TIMEOUT_SECONDS = 60;

  private final Publications publications = new Publications();

  @Override
  public Integer call() throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    MeshRegistry registry = MeshRegistry.create();
    ConfigDistributor distributor =
        ConfigDistributor.builder(registry).publishListener(publications::published).build();
    KubernetesClient client = null;
    AutoCloseable reader;
    if (source.apiServer != null) {
      Config config =
          new ConfigBuilder(Config.empty())
              .withMasterUrl(source.apiServer)
              .withTrustCerts(true)
              .build();
      client = new KubernetesClientBuilder().withConfig(config).build();
      KubernetesSource kubernetes =
          new KubernetesSource(
              client, List.of(BenchMesh.NAMESPACE), registry.registerSource("kubernetes"), false);
      kubernetes.start();
      reader = kubernetes;
    } else {
      DirectorySource directory =
          new DirectorySource(source.configDirectory, registry.registerSource("directory"));
      directory.start();
      reader = directory;
    }
    XdsServer server = null;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SYNC_TIMEOUT_SECONDS);
      while (!registry.isSynced()) {
        if (System.nanoTime() > deadline) {
          System.err.println("the source did not sync within " + SYNC_TIMEOUT_SECONDS + " s");
          return 1;
        }
        LockSupport.parkNanos(1_000_000);
      }
      server = XdsServer.start(distributor, 0);
      out.println("ready " + server.port());
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.trim().split(" ");
        switch (words[0]) {
          case "published" -> out.println(publications.answer(words));
          case "quit" -> {
            return 0;
          }
          default -> out.println("error unknown command " + words[0]);
        }
      }
      return 0;
    } finally {
      if (server != null) {
        server.close();
      }
      reader.close();
      if (client != null) {
        client.close();
      }
      distributor.close();
      registry.close();
    }
  }
}
