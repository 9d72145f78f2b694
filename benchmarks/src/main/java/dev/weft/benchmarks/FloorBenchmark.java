package dev.weft.benchmarks;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The convergence floor: one endpoint change at a time, from where a cluster or an operator makes
 * it to the proxies subscribed to it, through Weft's real sources. Either the harness serves the
 * mesh from Fabric8's mock API server (CRUD mode) and updates an EndpointSlice through a Fabric8
 * client, while Weft's {@code KubernetesSource} follows it with informers; or the harness writes
 * the mesh to a config directory and edits one EndpointSlice file, while Weft's {@code
 * DirectorySource} follows it.
 *
 * <p>Weft runs in a JVM of its own ({@link FloorControlPlaneCommand}); the API server and the
 * simulated proxies run here. Every timestamp is {@link System#nanoTime()}, Linux's {@code
 * CLOCK_MONOTONIC}, which both processes read, so the steps of a change add up:
 *
 * <ol>
 *   <li>issued: the harness sends the update (or renames the edited file into place);
 *   <li>delivered: the harness's own informer on EndpointSlices, a second watch on the same API
 *       server, receives it: the API server's own delivery (Kubernetes only);
 *   <li>published: Weft's publish listener, reported by the child;
 *   <li>first received, last received: the first and the last subscribed proxy start handling a
 *       response that holds it.
 * </ol>
 *
 * <p>Changes are paced: the next is issued only once every proxy holds the last, and a pause later,
 * so that each measures the floor, not a queue.
 */
@Command(
    name = "xds-floor",
    mixinStandardHelpOptions = true,
    description = {
      "The convergence floor: one EndpointSlice change at a time, through Fabric8's mock API"
          + " server and Weft's Kubernetes source, or through a config directory and Weft's"
          + " directory source, to 1 and to 200 subscribed simulated proxies (SotW ADS).",
      "Prints percentiles of each step: issued, API server's delivery, Weft's publication,"
          + " first and last proxy receiving it."
    })
final class FloorBenchmark implements Callable<Integer> {

  /** Where the mesh comes from. */
  enum Source {
    KUBERNETES,
    DIRECTORY
  }

  /** How the directory's EndpointSlice file is edited. */
  enum Edit {
    /** Write a temporary file and rename it over the old one, as editors and ConfigMaps do. */
    ATOMIC,
    /** Truncate the file and write it again. */
    IN_PLACE
  }

  /**
   * The mock API server's logger, held so that its level sticks: it logs every request at INFO,
   * which would bury the figures.
   */
  private static final java.util.logging.Logger MOCK_SERVER_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  /** The Service every change is made to, and every proxy subscribes to. */
  private static final int TARGET = 0;

  @Spec CommandSpec spec;

  @Option(
      names = "--sources",
      split = ",",
      defaultValue = "KUBERNETES,DIRECTORY",
      description = "Sources to measure, of ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
  List<Source> sources;

  @Option(
      names = "--edits",
      split = ",",
      defaultValue = "ATOMIC,IN_PLACE",
      description =
          "How the directory's file is edited, of ${COMPLETION-CANDIDATES} (default"
              + " ${DEFAULT-VALUE}).")
  List<Edit> edits;

  @Option(
      names = "--proxies",
      split = ",",
      defaultValue = "1,200",
      description =
          "Subscribed proxies, ascending: each step connects more and measures again (default"
              + " ${DEFAULT-VALUE}).")
  List<Integer> proxies;

  @Option(
      names = "--changes",
      defaultValue = "100",
      description = "Measured changes per step (default ${DEFAULT-VALUE}).")
  int changes;

  @Option(
      names = "--warmup",
      defaultValue = "30",
      description = "Changes before those measured, per step (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--services",
      defaultValue = "100",
      description = "Services in the mesh (default ${DEFAULT-VALUE}).")
  int services;

  @Option(
      names = "--endpoints",
      defaultValue = "5",
      description = "Endpoints per Service (default ${DEFAULT-VALUE}).")
  int endpoints;

  @Option(
      names = "--pause-ms",
      defaultValue = "20",
      description =
          "Pause after every proxy holds a change, before the next (default ${DEFAULT-VALUE}).")
  int pauseMillis;

  @Option(
      names = "--timeout",
      defaultValue = "10",
      description =
          "Seconds a change may take to reach every proxy, and the proxies to connect (default"
              + " ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(
      names = "--child-jvm",
      split = " ",
      defaultValue = "-Xmx1g",
      description = "JVM options of the control-plane process (default ${DEFAULT-VALUE}).")
  List<String> childJvm;

  /** Whether a step failed: proxies not configured, or a change that never reached them all. */
  private boolean incomplete;

  private final EventLoopGroup proxyThreads =
      new MultiThreadIoEventLoopGroup(
          Runtime.getRuntime().availableProcessors(),
          Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());

  private final Class<? extends SocketChannel> proxyChannelType =
      Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class;

  @Override
  public Integer call() throws Exception {
    validate();
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
    System.out.println(Machine.describe() + ", " + Instant.now());
    try {
      for (Source source : sources) {
        if (source == Source.KUBERNETES) {
          try (ApiServerMesh mesh = new ApiServerMesh(new BenchMesh(services, endpoints))) {
            measure(mesh);
          }
        } else {
          for (Edit edit : edits) {
            try (DirectoryMesh mesh = new DirectoryMesh(new BenchMesh(services, endpoints), edit)) {
              measure(mesh);
            }
          }
        }
      }
    } finally {
      proxyThreads.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }
    return incomplete ? 1 : 0;
  }

  private void validate() {
    if (sources.isEmpty()) {
      fail("--sources: name at least one of " + Arrays.toString(Source.values()));
    }
    if (edits.isEmpty()) {
      fail("--edits: name at least one of " + Arrays.toString(Edit.values()));
    }
    int previous = 0;
    for (int count : proxies) {
      if (count <= previous) {
        fail("--proxies: counts must be positive and ascending, got " + proxies);
      }
      previous = count;
    }
    if (changes < 1) {
      fail("--changes: must be at least 1, got " + changes);
    }
    if (warmup < 0) {
      fail("--warmup: must not be negative, got " + warmup);
    }
    if (services < 1) {
      fail("--services: must be at least 1, got " + services);
    }
    if (endpoints < 1 || endpoints > 1000) {
      fail(
          "--endpoints: must be 1 to 1000 (an EndpointSlice holds at most 1000), got " + endpoints);
    }
    if (pauseMillis < 0) {
      fail("--pause-ms: must not be negative, got " + pauseMillis);
    }
    if (timeoutSeconds < 1) {
      fail("--timeout: must be at least 1 second, got " + timeoutSeconds);
    }
  }

  private void fail(String message) {
    throw new CommandLine.ParameterException(spec.commandLine(), message);
  }

  /** Where a measured mesh lives, and how one change is made to it. */
  private interface Mesh extends AutoCloseable {
    /** What the control plane is told to read: {@code --api-server URL} or {@code --config-dir}. */
    List<String> sourceOptions();

    String describe();

    /**
     * Prepares change {@code change} (endpoint {@code change % endpoints} of the target moves to
     * the change's address); running the result issues it.
     */
    Runnable prepare(long change);

    /** When the harness's own watch delivered a change; -1 where it cannot say. */
    long deliveredNanos(long change);

    @Override
    void close() throws IOException;
  }

  private void measure(Mesh mesh) throws Exception {
    Path log = Files.createTempFile("weft-floor", ".log");
    System.out.printf("%n%s (control plane log in %s)%n", mesh.describe(), log);
    int perStep = warmup + changes;
    ConvergenceTracker tracker = new ConvergenceTracker(perStep * proxies.size());
    SimulatedProxy.Counters counters =
        new SimulatedProxy.Counters(
            tracker,
            new ConvergenceTracker(1),
            new LongAdder(),
            new LongAdder(),
            new LongAdder(),
            new LongAdder());
    List<SimulatedProxy> fleet = new ArrayList<>();
    List<ManagedChannel> channels = new ArrayList<>();
    List<EventLoop> loops = new ArrayList<>();
    proxyThreads.forEach(loop -> loops.add((EventLoop) loop));
    try (FloorControlPlane controlPlane =
        FloorControlPlane.start(mesh.sourceOptions(), log, childJvm)) {
      InetSocketAddress address =
          new InetSocketAddress(InetAddress.getLoopbackAddress(), controlPlane.port());
      int next = 0;
      for (int count : proxies) {
        while (fleet.size() < count) {
          SimulatedProxy proxy =
              new ProxylessClient(
                  fleet.size(),
                  new int[] {TARGET},
                  SimulatedProxy.Protocol.SOTW,
                  counters,
                  BenchMesh.serviceName(TARGET));
          ManagedChannel channel =
              NettyChannelBuilder.forAddress(address)
                  .usePlaintext()
                  .eventLoopGroup(loops.get(fleet.size() % loops.size()))
                  .channelType(proxyChannelType)
                  .directExecutor()
                  .build();
          fleet.add(proxy);
          channels.add(channel);
          proxy.connect(channel);
        }
        if (!await(() -> fleet.stream().allMatch(SimulatedProxy::configured))) {
          System.out.printf(
              "  %d proxies: not all configured within %d s%n", count, timeoutSeconds);
          return;
        }
        int first = next;
        int unconverged = 0;
        for (int i = 0; i < perStep; i++) {
          int change = next++;
          Runnable issue = mesh.prepare(change);
          tracker.expect(change, TARGET, System.nanoTime(), count);
          issue.run();
          if (!await(() -> tracker.converged(change))) {
            unconverged++;
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pauseMillis));
        }
        incomplete |= unconverged > 0;
        int measuredFrom = first + warmup;
        long[] published = controlPlane.publications(measuredFrom, changes);
        report(mesh, count, tracker, measuredFrom, published, unconverged);
      }
    } finally {
      for (SimulatedProxy proxy : fleet) {
        proxy.disconnect();
      }
      for (ManagedChannel channel : channels) {
        channel.shutdownNow();
      }
    }
  }

  /** One row of the report: the samples of one step, by change. */
  private static final class Row {
    final String label;
    final List<Long> nanos = new ArrayList<>();

    Row(String label) {
      this.label = label;
    }

    /**
     * Adds one step of a change, unless an end is missing: -1 (not published, not delivered), 0 or
     * {@link Long#MAX_VALUE} (never received). {@code CLOCK_MONOTONIC} counts from boot, so real
     * readings are positive.
     */
    void add(long from, long to) {
      if (from > 0 && to > 0 && to != Long.MAX_VALUE) {
        nanos.add(to - from);
      }
    }

    String format() {
      if (nanos.isEmpty()) {
        return String.format(Locale.ROOT, "  %-42s %s", label, "no samples");
      }
      nanos.sort(Comparator.naturalOrder());
      return String.format(
          Locale.ROOT,
          "  %-42s %7.1f %7.1f %7.1f %7.1f  (%d)",
          label,
          at(0.50),
          at(0.90),
          at(0.99),
          nanos.get(nanos.size() - 1) / 1e6,
          nanos.size());
    }

    private double at(double quantile) {
      int index = (int) Math.ceil(quantile * nanos.size()) - 1;
      return nanos.get(Math.max(0, index)) / 1e6;
    }
  }

  private void report(
      Mesh mesh,
      int count,
      ConvergenceTracker tracker,
      int from,
      long[] published,
      int unconverged) {
    boolean kubernetes = mesh instanceof ApiServerMesh;
    Row delivery = new Row("issued to delivered (API server)");
    Row toPublished =
        new Row(kubernetes ? "delivered to published (Weft)" : "edited to published (Weft)");
    Row toFirst = new Row("published to first received");
    Row fanOut = new Row("first to last received");
    Row beyond = new Row("delivered to last received (beyond API)");
    Row total = new Row(kubernetes ? "issued to last received" : "edited to last received");
    for (int i = 0; i < changes; i++) {
      int change = from + i;
      if (!tracker.converged(change)) {
        continue;
      }
      long issued = tracker.issuedNanos(change);
      long delivered = mesh.deliveredNanos(change);
      long last = tracker.lastReceivedNanos(change);
      delivery.add(issued, delivered);
      toPublished.add(kubernetes ? delivered : issued, published[i]);
      toFirst.add(published[i], tracker.firstReceivedNanos(change));
      fanOut.add(tracker.firstReceivedNanos(change), last);
      beyond.add(delivered, last);
      total.add(issued, last);
    }
    System.out.printf(
        Locale.ROOT,
        "%d proxies, %d changes after %d of warm-up, %d did not converge within %d s; load %s%n",
        count,
        changes,
        warmup,
        unconverged,
        timeoutSeconds,
        loadAverage());
    System.out.printf(
        Locale.ROOT, "  %-42s %7s %7s %7s %7s  (samples)%n", "ms", "p50", "p90", "p99", "max");
    List<Row> rows =
        kubernetes
            ? List.of(delivery, toPublished, toFirst, fanOut, beyond, total)
            : List.of(toPublished, toFirst, fanOut, total);
    for (Row row : rows) {
      System.out.println(row.format());
    }
  }

  /** The machine's 1-minute load average, as {@code uptime} prints it. */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "unknown";
    }
  }

  private boolean await(BooleanSupplier done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(100_000);
    }
    return true;
  }

  /**
   * The mesh on Fabric8's mock API server in CRUD mode, with the harness's own informer on
   * EndpointSlices noting when each change is delivered.
   */
  private final class ApiServerMesh implements Mesh {
    private final BenchMesh mesh;
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final SharedIndexInformer<EndpointSlice> informer;
    private final Map<Long, Long> delivered = new ConcurrentHashMap<>();
    private EndpointSlice target;

    ApiServerMesh(BenchMesh mesh) {
      this.mesh = mesh;
      server =
          new KubernetesMockServer(
              new Context(),
              new MockWebServer(),
              new HashMap<>(),
              new KubernetesCrudDispatcher(),
              false);
      server.init(InetAddress.getLoopbackAddress(), 0);
      client = server.createClient();
      for (int s = 0; s < mesh.services(); s++) {
        client.resource(BenchMesh.service(s, "http")).create();
        for (int e = 0; e < mesh.endpoints(); e++) {
          client.resource(mesh.podObject(s, e)).create();
        }
        EndpointSlice created = client.resource(mesh.slice(s)).create();
        if (s == TARGET) {
          target = created;
        }
      }
      informer =
          client
              .discovery()
              .v1()
              .endpointSlices()
              .inNamespace(BenchMesh.NAMESPACE)
              .runnableInformer(0);
      informer.addEventHandler(
          new ResourceEventHandler<>() {
            @Override
            public void onAdd(EndpointSlice slice) {}

            @Override
            public void onUpdate(EndpointSlice previous, EndpointSlice slice) {
              long now = System.nanoTime();
              delivered.putIfAbsent(newestChange(slice), now);
            }

            @Override
            public void onDelete(EndpointSlice slice, boolean finalStateUnknown) {}
          });
      informer.start().toCompletableFuture().join();
    }

    @Override
    public List<String> sourceOptions() {
      return List.of("--api-server", client.getMasterUrl().toString());
    }

    @Override
    public String describe() {
      return String.format(
          Locale.ROOT,
          "KUBERNETES: Fabric8's mock API server (CRUD) at %s, %d Services × %d endpoints,"
              + " an EndpointSlice update per change",
          client.getMasterUrl(),
          mesh.services(),
          mesh.endpoints());
    }

    @Override
    public Runnable prepare(long change) {
      target
          .getEndpoints()
          .get((int) (change % mesh.endpoints()))
          .setAddresses(List.of(BenchMesh.address(change)));
      return () -> target = client.resource(target).update();
    }

    @Override
    public long deliveredNanos(long change) {
      return delivered.getOrDefault(change, -1L);
    }

    @Override
    public void close() {
      informer.stop();
      client.close();
      server.destroy();
    }
  }

  /** The newest change an EndpointSlice's addresses encode, or -1. */
  private static long newestChange(EndpointSlice slice) {
    long newest = -1;
    for (Endpoint endpoint : slice.getEndpoints()) {
      for (String address : endpoint.getAddresses()) {
        newest = Math.max(newest, BenchMesh.changeOf(address));
      }
    }
    return newest;
  }

  /**
   * The mesh in a config directory: per Service a file with the Service and its Pods, and a file
   * with its EndpointSlice, which changes edit.
   */
  private final class DirectoryMesh implements Mesh {
    private final BenchMesh mesh;
    private final Edit edit;
    private final Path directory;
    private final Path targetFile;

    DirectoryMesh(BenchMesh mesh, Edit edit) throws IOException {
      this.mesh = mesh;
      this.edit = edit;
      directory = Files.createTempDirectory("weft-floor-config");
      for (int s = 0; s < mesh.services(); s++) {
        List<HasMetadata> objects = new ArrayList<>();
        objects.add(BenchMesh.service(s, "http"));
        for (int e = 0; e < mesh.endpoints(); e++) {
          objects.add(mesh.podObject(s, e));
        }
        Files.writeString(directory.resolve(BenchMesh.serviceName(s) + ".yaml"), yaml(objects));
        Files.writeString(sliceFile(s), yaml(List.of(mesh.slice(s))));
      }
      targetFile = sliceFile(TARGET);
    }

    private Path sliceFile(int service) {
      return directory.resolve(BenchMesh.serviceName(service) + "-slice.yaml");
    }

    private static String yaml(List<HasMetadata> objects) {
      StringBuilder text = new StringBuilder();
      for (HasMetadata object : objects) {
        String document = Serialization.asYaml(object);
        text.append(document.startsWith("---") ? "" : "---\n").append(document);
      }
      return text.toString();
    }

    @Override
    public List<String> sourceOptions() {
      return List.of("--config-dir", directory.toString());
    }

    @Override
    public String describe() {
      return String.format(
          Locale.ROOT,
          "DIRECTORY, %s edit: %s, %d Services × %d endpoints in %d files, an EndpointSlice"
              + " file edited per change",
          edit,
          directory,
          mesh.services(),
          mesh.endpoints(),
          2 * mesh.services());
    }

    @Override
    public Runnable prepare(long change) {
      EndpointSlice slice = mesh.slice(TARGET);
      slice
          .getEndpoints()
          .get((int) (change % mesh.endpoints()))
          .setAddresses(List.of(BenchMesh.address(change)));
      String content = yaml(List.of(slice));
      Path temporary = directory.resolve(targetFile.getFileName() + ".tmp");
      return () -> {
        try {
          if (edit == Edit.ATOMIC) {
            Files.writeString(temporary, content);
            Files.move(
                temporary,
                targetFile,
                StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
          } else {
            Files.writeString(targetFile, content);
          }
        } catch (IOException e) {
          throw new UncheckedIOException("cannot edit " + targetFile, e);
        }
      };
    }

    @Override
    public long deliveredNanos(long change) {
      return -1;
    }

    @Override
    public void close() throws IOException {
      try (var files = Files.walk(directory)) {
        for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(path);
        }
      }
    }
  }
}
