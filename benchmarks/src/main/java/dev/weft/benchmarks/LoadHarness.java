package dev.weft.benchmarks;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.Pem;
import dev.weft.ca.SvidWithKey;
import dev.weft.ca.WorkloadIdentity;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
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
import io.grpc.netty.shaded.io.netty.handler.ssl.OpenSsl;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The xDS load harness: N simulated proxies, each with its own connection and ADS stream, against a
 * control plane in a child process, fed M Services with K endpoints through a registry source. The
 * proxies are proxyless gRPC clients ({@link ProxylessClient}), or with {@code --proxy-type
 * envoy-sidecar} Envoy sidecars of the mesh's Pods ({@link EnvoySidecar}), which see the whole mesh
 * or, with {@code --egress-per-proxy}, the Services their workload declares. Runs the same
 * scenarios against Weft and the reference peer (envoyproxy's java-control-plane; proxyless clients
 * only) and prints both, with ratios:
 *
 * <ol>
 *   <li><b>cold start</b>: all proxies connect at once; time until every one holds every resource
 *       it asked for;
 *   <li><b>endpoint churn</b>: E endpoint changes per second for T seconds; per change, the time
 *       from publication to the ACK of the last subscribed proxy; control-plane CPU;
 *   <li><b>route change</b>: an HTTPRoute weight edit on the widely used Service {@code svc-0} (to
 *       which every proxy subscribes): the canary share of svc-1 flips between 10 % and 90 %, one
 *       change at a time, which changes svc-0's RouteConfiguration for every proxy;
 *   <li><b>reconnect storm</b>: every proxy drops its connection and reconnects holding nothing.
 * </ol>
 *
 * <p>Heap per proxy is the control plane's heap after full GCs with the proxies connected, minus
 * the same before they connected, over N; resident memory per proxy likewise, for what the heap
 * leaves out (native TLS state). The resident set also grows by the heap the JVM touches for the
 * first time, so its figure means something only with a pre-touched heap ({@code --child-jvm
 * "-Xms4g -Xmx4g -XX:+AlwaysPreTouch"}). Bytes and pushes are counted by the proxies.
 *
 * <p>With {@code --mtls}, the same scenarios run against Weft over plaintext and against Weft's xDS
 * over mutual TLS on its CA's port, each proxy presenting a certificate of that CA for the service
 * account its node claims, and the differences are printed: what mutual TLS costs.
 */
@Command(
    name = "xds-load",
    mixinStandardHelpOptions = true,
    description = "Simulated proxies against Weft and the reference control plane.")
final class LoadHarness implements Callable<Integer> {

  @Option(names = "--proxies", defaultValue = "2000", description = "Proxies (default 2000).")
  int proxies;

  @Option(names = "--services", defaultValue = "1000", description = "Services (default 1000).")
  int services;

  @Option(
      names = "--endpoints",
      defaultValue = "5",
      description = "Endpoints per service (default 5).")
  int endpoints;

  @Option(
      names = "--subscriptions",
      defaultValue = "100",
      description = "Services each proxy subscribes to, svc-0 among them; 0 for all (default 100).")
  int subscriptions;

  @Option(
      names = "--proxy-type",
      defaultValue = "grpc",
      converter = ProxyTypeConverter.class,
      description =
          "grpc: proxyless gRPC clients, each naming the resources of its --subscriptions"
              + " Services; envoy-sidecar: Envoy sidecars of the mesh's Pods, which ask for"
              + " Clusters and Listeners by wildcard, then the endpoints and routes they name, and"
              + " see the whole mesh or, with --egress-per-proxy, the Services their workload"
              + " declares; the reference peer is not measured with them (default"
              + " ${DEFAULT-VALUE}).")
  ProxyType proxyType;

  @Option(
      names = "--egress-per-proxy",
      defaultValue = "0",
      description =
          "Envoy sidecars only: how many Services each workload declares it calls (its egress"
              + " hosts): svc-0, the canary svc-1 its routes send to, and others drawn per"
              + " workload. Every replica of a workload (the sidecars of one Service's Pods)"
              + " declares the same, so they share a view. 0: each sees the whole mesh (default"
              + " ${DEFAULT-VALUE}).")
  int egressPerProxy;

  @Option(
      names = "--protocol",
      defaultValue = "SOTW",
      description = "SOTW or DELTA (default ${DEFAULT-VALUE}).")
  SimulatedProxy.Protocol protocol;

  @Option(
      names = "--peers",
      split = ",",
      defaultValue = "WEFT,REFERENCE",
      description =
          "Control planes to measure, of ${COMPLETION-CANDIDATES}; WEFT_MTLS is Weft's xDS over"
              + " mutual TLS, see --mtls (default ${DEFAULT-VALUE}).")
  List<ControlPlaneCommand.Peer> peers;

  @Option(
      names = "--mtls",
      description =
          "Measure Weft's xDS over mutual TLS (on its CA's port, each proxy presenting an X.509-SVID"
              + " of Weft's CA for the service account its node claims) against Weft over"
              + " plaintext, and print the difference: the same as --peers WEFT,WEFT_MTLS, so the"
              + " java-control-plane reference is skipped.")
  boolean mtls;

  @Option(
      names = "--churn-rate",
      defaultValue = "100",
      description = "Endpoint changes per second (default 100).")
  int churnRate;

  @Option(
      names = "--churn-seconds",
      defaultValue = "10",
      description = "Seconds of endpoint churn (default 10).")
  int churnSeconds;

  @Option(
      names = "--restart",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Last, kill the control plane (SIGKILL) with every proxy connected and time a fresh JVM"
              + " until every proxy holds its configuration again (default true).")
  boolean restart;

  @Option(
      names = "--churn-settle-seconds",
      defaultValue = "10",
      description =
          "Seconds of the same churn before the measured ones, so that they measure the steady"
              + " state, not the control plane's JIT adapting to the load (default 10).")
  int churnSettleSeconds;

  @Option(
      names = "--route-changes",
      defaultValue = "20",
      description = "Route changes, one at a time (default 20).")
  int routeChanges;

  @Option(
      names = "--timeout",
      defaultValue = "120",
      description = "Seconds a scenario may take before it is reported incomplete (default 120).")
  int timeoutSeconds;

  @Option(
      names = "--child-jvm",
      split = " ",
      defaultValue = "-Xmx4g",
      description = "JVM options of the control-plane process (default ${DEFAULT-VALUE}).")
  List<String> childJvm;

  @Option(
      names = "--warmup-proxies",
      defaultValue = "200",
      description =
          "Proxies that connect, take some changes and leave before measuring, so that both JVMs"
              + " have compiled their hot paths (default 200).")
  int warmupProxies;

  @Option(
      names = "--warmup-seconds",
      defaultValue = "30",
      description =
          "How long the warm-up fleet runs, in rounds, before anything is measured (default 30).")
  int warmupSeconds;

  @Mixin JsonFigures json;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** What kind of proxy the harness simulates. */
  enum ProxyType {
    GRPC,
    ENVOY_SIDECAR
  }

  /** {@code grpc} or {@code envoy-sidecar}, as the option is written. */
  static final class ProxyTypeConverter implements CommandLine.ITypeConverter<ProxyType> {
    @Override
    public ProxyType convert(String value) {
      return ProxyType.valueOf(value.toUpperCase(Locale.ROOT).replace('-', '_'));
    }
  }

  /**
   * One scenario's figures for one peer.
   *
   * @param cpuCores the control plane's CPU time over the scenario's span, in cores
   * @param cpuSeconds the same, in seconds
   * @param harnessCpuSeconds the harness's (the proxies') CPU time over the same span: it shares
   *     the machine's cores with the control plane
   * @param breakdownMicros where a change's convergence went, step by step (see {@link
   *     #breakdown}); empty where not measured
   */
  record Scenario(
      String name,
      double seconds,
      boolean complete,
      Percentiles.Summary convergenceMicros,
      double cpuCores,
      double cpuSeconds,
      double harnessCpuSeconds,
      long bytes,
      long pushes,
      double pushesPerChange,
      double bytesPerChange,
      Map<String, Percentiles.Summary> breakdownMicros) {}

  /**
   * Everything measured for one peer.
   *
   * @param nacks responses the proxies rejected
   * @param clustersPerProxy the clusters an Envoy sidecar held after cold start, on average; 0 for
   *     proxyless clients, which hold those they name
   */
  record PeerResult(
      String peer,
      int proxies,
      long heapBytesBefore,
      long heapBytesWithProxies,
      double heapBytesPerProxy,
      long residentBytesBefore,
      long residentBytesWithProxies,
      double residentBytesPerProxy,
      long streamErrors,
      long nacks,
      double clustersPerProxy,
      Map<String, Scenario> scenarios) {}

  /**
   * The whole run.
   *
   * @param tls the TLS implementation of both ends, when a peer is {@code WEFT_MTLS}, else null:
   *     gRPC takes BoringSSL (Netty's tcnative) wherever it loads, and both JVMs share a class path
   * @param mtlsMinusPlaintext Weft over mutual TLS minus Weft over plaintext, when both ran
   * @param subscriptionsPerProxy the Services a proxy holds the resources of: those it names, or
   *     those an Envoy sidecar sees
   * @param egressPerProxy the Services a sidecar's workload declares; 0 when it sees the mesh
   */
  record Result(
      String machine,
      int proxies,
      int services,
      int endpoints,
      String proxyType,
      int subscriptionsPerProxy,
      int egressPerProxy,
      String protocol,
      String tls,
      List<PeerResult> peers,
      Map<String, Double> referenceOverWeft,
      Map<String, Double> mtlsMinusPlaintext) {}

  /**
   * The service accounts the proxies claim: those of the first Services' Pods, a few for the whole
   * fleet, so that over mutual TLS a handful of certificates, issued before any clock starts, serve
   * every proxy.
   */
  private static final int SERVICE_ACCOUNTS = 8;

  @Override
  public Integer call() throws Exception {
    List<ControlPlaneCommand.Peer> measured =
        new ArrayList<>(
            mtls
                ? List.of(ControlPlaneCommand.Peer.WEFT, ControlPlaneCommand.Peer.WEFT_MTLS)
                : peers);
    if (proxyType == ProxyType.ENVOY_SIDECAR
        && measured.remove(ControlPlaneCommand.Peer.REFERENCE)) {
      System.err.println(
          "REFERENCE: not measured with Envoy sidecars; its snapshots hold proxyless gRPC"
              + " resources only");
    }
    if (egressPerProxy < 0 || (egressPerProxy > 0 && proxyType != ProxyType.ENVOY_SIDECAR)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--egress-per-proxy: a count of Services, for --proxy-type envoy-sidecar only");
    }
    boolean tls = measured.contains(ControlPlaneCommand.Peer.WEFT_MTLS);
    // The CA's key material, made here: the child serves with it, the harness issues from it.
    Path caDirectory = tls ? Files.createTempDirectory("weft-bench-ca") : null;
    List<PeerResult> results = new ArrayList<>();
    try {
      CertificateAuthority ca =
          tls
              ? CertificateAuthority.builder()
                  .store(KeyMaterialStore.directory(caDirectory))
                  .build()
              : null;
      for (ControlPlaneCommand.Peer peer : measured) {
        results.add(run(peer, ca, caDirectory));
      }
    } finally {
      proxyThreads.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10_000);
      if (caDirectory != null) {
        deleteDirectory(caDirectory);
      }
    }
    Result result =
        new Result(
            Machine.describe(),
            proxies,
            services,
            endpoints,
            proxyType.name(),
            servicesOf(0).length,
            proxyType == ProxyType.ENVOY_SIDECAR ? Math.min(egressPerProxy, services) : 0,
            protocol.name(),
            tls ? (OpenSsl.isAvailable() ? OpenSsl.versionString() : "JDK") : null,
            results,
            ratios(results),
            mtlsMinusPlaintext(results));
    print(result);
    json.write(result);
    return 0;
  }

  /**
   * The simulated proxies' transport threads, one per core. gRPC's default group put every channel
   * on one thread, which made the harness, not the control plane, the bottleneck. Epoll where the
   * platform has it (as the control plane's server uses): NIO's selector cost the harness a third
   * of a core in system time at 2,000 connections.
   */
  private final EventLoopGroup proxyThreads =
      new MultiThreadIoEventLoopGroup(
          Runtime.getRuntime().availableProcessors(),
          Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());

  private final Class<? extends SocketChannel> proxyChannelType =
      Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class;

  /**
   * Where the proxies connect, and how: in plaintext, or over mutual TLS with the credentials of
   * each one's service account.
   */
  private record Target(int port, Map<String, ChannelCredentials> credentials) {

    /**
     * A channel for {@code proxy}, not yet connected. gRPC makes a TLS context per builder from
     * credentials, so no two channels share a session cache: each connection makes a full
     * handshake, as distinct proxies do.
     */
    NettyChannelBuilder channelFor(SimulatedProxy proxy) {
      InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
      if (credentials.isEmpty()) {
        return NettyChannelBuilder.forAddress(address).usePlaintext();
      }
      // The control plane's certificate names localhost (see ControlPlaneCommand), not the address.
      return NettyChannelBuilder.forAddress(address, credentials.get(proxy.serviceAccount()))
          .overrideAuthority("localhost");
    }
  }

  private PeerResult run(ControlPlaneCommand.Peer peer, CertificateAuthority ca, Path caDirectory)
      throws Exception {
    Path log = Files.createTempFile("weft-" + peer.name().toLowerCase(Locale.ROOT), ".log");
    System.err.printf("%s: control plane log in %s%n", peer, log);
    boolean tls = peer == ControlPlaneCommand.Peer.WEFT_MTLS;
    List<String> peerOptions = tls ? List.of("--ca-dir", caDirectory.toString()) : List.of();
    try (ControlPlaneProcess controlPlane =
        ControlPlaneProcess.start(peer, peerOptions, log, childJvm)) {
      Target target =
          new Target(controlPlane.load(services, endpoints), tls ? credentials(ca) : Map.of());
      ControlPlaneProcess.Stats before = controlPlane.stats();

      ConvergenceTracker endpointTracker = new ConvergenceTracker(churnRate * churnSeconds);
      ConvergenceTracker routeTracker = new ConvergenceTracker(routeChanges + 1);
      SimulatedProxy.Counters counters =
          new SimulatedProxy.Counters(
              endpointTracker,
              routeTracker,
              new LongAdder(),
              new LongAdder(),
              new LongAdder(),
              new LongAdder());
      List<SimulatedProxy> fleet = new ArrayList<>();
      int[] subscribers = new int[services];
      for (int i = 0; i < proxies; i++) {
        SimulatedProxy proxy = proxy(i, counters);
        for (int service : proxy.services()) {
          subscribers[service]++;
        }
        fleet.add(proxy);
      }

      List<ManagedChannel> channels = new ArrayList<>();
      warmUp(controlPlane, target, channels);
      Map<String, Scenario> scenarios = new LinkedHashMap<>();
      timed(
          scenarios,
          "coldStart",
          () -> connectAll("coldStart", controlPlane, target, fleet, channels, counters));
      ControlPlaneProcess.Stats connected = controlPlane.stats();
      double clustersPerProxy =
          fleet.stream()
              .filter(EnvoySidecar.class::isInstance)
              .mapToInt(proxy -> ((EnvoySidecar) proxy).clusters())
              .average()
              .orElse(0);
      timed(
          scenarios,
          "endpointChurn",
          () -> churn(controlPlane, endpointTracker, subscribers, counters));
      timed(
          scenarios,
          "routeChange",
          () -> routeChanges(controlPlane, routeTracker, subscribers, counters));
      for (SimulatedProxy proxy : fleet) {
        proxy.disconnect();
      }
      closeAll(channels);
      timed(
          scenarios,
          "reconnectStorm",
          () -> connectAll("reconnectStorm", controlPlane, target, fleet, channels, counters));
      for (SimulatedProxy proxy : fleet) {
        proxy.disconnect();
      }
      closeAll(channels);
      if (restart) {
        timed(
            scenarios,
            "restart",
            () -> restart(controlPlane, peer, peerOptions, log, target, fleet, channels, counters));
        for (SimulatedProxy proxy : fleet) {
          proxy.disconnect();
        }
        closeAll(channels);
      }
      return new PeerResult(
          peer.name(),
          proxies,
          before.heapAfterGc(),
          connected.heapAfterGc(),
          (double) (connected.heapAfterGc() - before.heapAfterGc()) / proxies,
          before.residentBytes(),
          connected.residentBytes(),
          (double) (connected.residentBytes() - before.residentBytes()) / proxies,
          counters.errors().sum(),
          counters.nacks().sum(),
          round(clustersPerProxy),
          scenarios);
    }
  }

  /**
   * Simulated proxy {@code id} (warm-up proxies have negative ids), of the kind measured: a
   * proxyless client of its {@link #subscriptionsOf} Services, or the Envoy sidecar of the Pod
   * {@link #podOf} names, which sees its workload's {@link #viewOf}.
   */
  private SimulatedProxy proxy(int id, SimulatedProxy.Counters counters) {
    if (proxyType == ProxyType.GRPC) {
      // Warm-up proxy -1 - i subscribes as proxy N + i would.
      int[] subscribed = subscriptionsOf(id >= 0 ? id : proxies - 1 - id);
      return new ProxylessClient(id, subscribed, protocol, counters, serviceAccountOf(id));
    }
    return new EnvoySidecar(
        podOf(id),
        viewOf(workloadOf(id)),
        egressPerProxy > 0,
        protocol,
        counters,
        serviceAccountOf(id));
  }

  /** The Services proxy {@code id} holds the resources of. */
  private int[] servicesOf(int id) {
    return proxyType == ProxyType.GRPC ? subscriptionsOf(id) : viewOf(workloadOf(id));
  }

  /**
   * The workload sidecar {@code id} belongs to: the Service whose Pod it is in. Sidecars are spread
   * over the Services first, then over their Pods, so a fleet smaller than the mesh has one replica
   * of as many workloads as it can.
   */
  private int workloadOf(int id) {
    return Math.floorMod(id, services);
  }

  /** The Pod sidecar {@code id} is in: a replica of its workload. */
  private BenchMesh.Pod podOf(int id) {
    return BenchMesh.pod(
        workloadOf(id), Math.floorMod(Math.floorDiv(id, services), endpoints), endpoints);
  }

  /**
   * The Services a workload's sidecars see: the whole mesh, or with {@code --egress-per-proxy K},
   * the K it declares: svc-0, which every workload calls, svc-1, the canary svc-0's route sends a
   * share to (a sidecar needs the cluster of every backend of its routes), and others drawn from a
   * seed per workload, so every run, and every replica, declares the same.
   */
  private int[] viewOf(int workload) {
    if (egressPerProxy == 0 || egressPerProxy >= services) {
      int[] all = new int[services];
      for (int i = 0; i < services; i++) {
        all[i] = i;
      }
      return all;
    }
    Random random = new Random(workload);
    java.util.LinkedHashSet<Integer> declared = new java.util.LinkedHashSet<>();
    declared.add(0);
    declared.add(1);
    while (declared.size() < egressPerProxy) {
      declared.add(2 + random.nextInt(services - 2));
    }
    return declared.stream().mapToInt(Integer::intValue).limit(egressPerProxy).toArray();
  }

  /**
   * The service account proxy {@code id} claims, the same over plaintext and over mutual TLS so
   * that the two runs differ in transport only. Warm-up proxies have negative ids.
   */
  private static String serviceAccountOf(int id) {
    return BenchMesh.serviceName(Math.floorMod(id, SERVICE_ACCOUNTS));
  }

  /**
   * TLS credentials for each service account the proxies claim: a certificate issued by {@code ca}
   * (the harness's copy of the control plane's CA) with its key, and the CA's trust bundle.
   */
  private static Map<String, ChannelCredentials> credentials(CertificateAuthority ca)
      throws IOException {
    Map<String, ChannelCredentials> credentials = new HashMap<>();
    for (int i = 0; i < SERVICE_ACCOUNTS; i++) {
      String account = serviceAccountOf(i);
      SvidWithKey issued =
          ca.issueOwn(new WorkloadIdentity(BenchMesh.NAMESPACE, account), List.of());
      credentials.put(
          account,
          TlsChannelCredentials.newBuilder()
              .keyManager(
                  pem(Pem.certificates(issued.svid().chain())),
                  pem(Pem.privateKey(issued.privateKey())))
              .trustManager(pem(Pem.certificates(issued.svid().trustBundle())))
              .build());
    }
    return credentials;
  }

  private static InputStream pem(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
  }

  private static void deleteDirectory(Path directory) throws IOException {
    try (var files = Files.list(directory)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
    Files.delete(directory);
  }

  /**
   * Runs a scenario and prints when it ran, by the wall clock, so that a profile of the control
   * plane (a flight recording, say) can be cut to one scenario.
   */
  private static void timed(Map<String, Scenario> scenarios, String name, Supplier<Scenario> run) {
    LocalTime start = LocalTime.now();
    scenarios.put(name, run.get());
    System.err.printf("%s: %s to %s%n", name, start, LocalTime.now());
  }

  /**
   * A fleet that connects, takes endpoint and route changes and leaves, in rounds, for {@code
   * --warmup-seconds}, so that the measured scenarios run on compiled code in both processes rather
   * than timing the JIT. (With three rounds, about 5 s, C2 was still compiling hot gRPC and Weft
   * methods during the churn scenario, taking a third of a core in each process on this 2-core
   * machine: cold start measured 12 s instead of 4.) Each round prints the time both JVMs spent
   * compiling, to show how warm they are. Its endpoint changes use addresses of the initial range's
   * successor, which no measured change uses; its route changes leave svc-0's canary at the weight
   * of an even change, so the first measured change flips it.
   */
  private void warmUp(
      ControlPlaneProcess controlPlane, Target target, List<ManagedChannel> channels)
      throws InterruptedException {
    if (warmupProxies == 0) {
      return;
    }
    SimulatedProxy.Counters counters = SimulatedProxy.Counters.untracked();
    List<SimulatedProxy> fleet = new ArrayList<>();
    for (int i = 0; i < warmupProxies; i++) {
      fleet.add(proxy(-1 - i, counters));
    }
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
    for (int round = 1; round == 1 || System.nanoTime() < end; round++) {
      long compiling = controlPlane.compilationMillis() + compilationMillis();
      long start = System.nanoTime();
      connectAll("warmUp", controlPlane, target, fleet, channels, counters);
      // Counted before the moves: read after, it missed the responses that came first, and a
      // round whose proxies got all their endpoints in one response each waited out the timeout.
      long moved = counters.responses().sum() + warmupProxies;
      for (int service = 0; service < services; service++) {
        controlPlane.moveEndpoint(service, 0, BenchMesh.WARMUP_CHANGES + round);
      }
      await(() -> counters.responses().sum() >= moved);
      for (int change = 1; change <= 2; change++) {
        long routed = counters.responses().sum() + warmupProxies;
        controlPlane.changeRoute(change);
        await(() -> counters.responses().sum() >= routed);
      }
      for (SimulatedProxy proxy : fleet) {
        proxy.disconnect();
      }
      closeAll(channels);
      System.err.printf(
          "warm-up round %d: %.0f ms, %d ms compiling (both JVMs, all compiler threads)%n",
          round,
          (System.nanoTime() - start) / 1e6,
          controlPlane.compilationMillis() + compilationMillis() - compiling);
    }
  }

  private static long compilationMillis() {
    return ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
  }

  /** Svc-0 and then distinct Services drawn from a seed per proxy, so every run is the same. */
  private int[] subscriptionsOf(int proxy) {
    int count = subscriptions == 0 || subscriptions >= services ? services : subscriptions;
    if (count == services) {
      int[] all = new int[services];
      for (int i = 0; i < services; i++) {
        all[i] = i;
      }
      return all;
    }
    Random random = new Random(proxy);
    java.util.LinkedHashSet<Integer> chosen = new java.util.LinkedHashSet<>();
    chosen.add(0);
    while (chosen.size() < count) {
      chosen.add(1 + random.nextInt(services - 1));
    }
    return chosen.stream().mapToInt(Integer::intValue).toArray();
  }

  private Scenario connectAll(
      String name,
      ControlPlaneProcess controlPlane,
      Target target,
      List<SimulatedProxy> fleet,
      List<ManagedChannel> channels,
      SimulatedProxy.Counters counters) {
    // Channels are built first (building one connects nothing): what is timed is the proxies
    // connecting and subscribing, not the harness setting up its client objects. Each is pinned
    // to one transport thread, round robin: left to gRPC, which asks the group for a thread more
    // than once per channel, every channel landed on the same one.
    List<EventLoop> loops = new ArrayList<>();
    proxyThreads.forEach(loop -> loops.add((EventLoop) loop));
    for (int i = 0; i < fleet.size(); i++) {
      channels.add(
          target
              .channelFor(fleet.get(i))
              .eventLoopGroup(loops.get(i % loops.size()))
              .channelType(proxyChannelType)
              // A simulated proxy's callback parses and ACKs without blocking: run it on the
              // transport thread, as a real proxy's single-threaded event loop would.
              .directExecutor()
              .maxInboundMessageSize(256 * 1024 * 1024)
              .build());
    }
    long bytes = counters.bytes().sum();
    long pushes = counters.responses().sum();
    long cpu = controlPlane.cpuNanos();
    long harnessCpu = Machine.cpuNanos();
    long start = System.nanoTime();
    for (int i = 0; i < fleet.size(); i++) {
      fleet.get(i).connect(channels.get(i));
    }
    boolean complete = await(() -> fleet.stream().allMatch(SimulatedProxy::configured));
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpuSeconds = (controlPlane.cpuNanos() - cpu) / 1e9;
    return new Scenario(
        name,
        round(seconds),
        complete,
        null,
        round(cpuSeconds / seconds),
        round(cpuSeconds),
        round((Machine.cpuNanos() - harnessCpu) / 1e9),
        counters.bytes().sum() - bytes,
        counters.responses().sum() - pushes,
        0,
        0,
        Map.of());
  }

  /**
   * The control plane killed with SIGKILL while every proxy is connected, and a fresh JVM started
   * in its place on the same port: the time from the kill until every proxy holds its configuration
   * again, and the new process's CPU time to get there (its JVM's start, the mesh's load and the
   * resync: all of it). The proxies' streams end just before the kill (so that their errors are not
   * counted as the control plane's), and they reconnect, holding nothing, once the new process
   * serves: the time a real proxy's reconnection back-off adds is left out.
   */
  private Scenario restart(
      ControlPlaneProcess old,
      ControlPlaneCommand.Peer peer,
      List<String> peerOptions,
      Path log,
      Target target,
      List<SimulatedProxy> fleet,
      List<ManagedChannel> channels,
      SimulatedProxy.Counters counters) {
    long killed = System.nanoTime();
    old.kill();
    List<String> options = new ArrayList<>(peerOptions);
    options.addAll(List.of("--port", Integer.toString(target.port())));
    ControlPlaneProcess fresh = ControlPlaneProcess.start(peer, options, log, childJvm);
    try {
      fresh.load(services, endpoints);
      double startSeconds = (System.nanoTime() - killed) / 1e9;
      double startCpuSeconds = fresh.cpuNanos() / 1e9;
      long harnessCpu = Machine.cpuNanos();
      Scenario resync = connectAll("restart", fresh, target, fleet, channels, counters);
      double seconds = (System.nanoTime() - killed) / 1e9;
      double cpuSeconds = fresh.cpuNanos() / 1e9;
      System.err.printf(
          Locale.ROOT,
          "restart: serving %.2f s after the kill (CPU %.2f s), every proxy configured %.2f s"
              + " later (CPU %.2f s)%n",
          startSeconds,
          startCpuSeconds,
          resync.seconds(),
          cpuSeconds - startCpuSeconds);
      return new Scenario(
          "restart",
          round(seconds),
          resync.complete(),
          null,
          round(cpuSeconds / seconds),
          round(cpuSeconds),
          round((Machine.cpuNanos() - harnessCpu) / 1e9),
          resync.bytes(),
          resync.pushes(),
          0,
          0,
          Map.of());
    } finally {
      for (SimulatedProxy proxy : fleet) {
        proxy.disconnect();
      }
      fresh.close();
    }
  }

  private Scenario churn(
      ControlPlaneProcess controlPlane,
      ConvergenceTracker tracker,
      int[] subscribers,
      SimulatedProxy.Counters counters) {
    int changes = churnRate * churnSeconds;
    Random random = new Random(42);
    long interval = 1_000_000_000L / churnRate;
    // Settling changes: the same rate, addresses no measured change uses, nothing recorded; the
    // measured changes follow at once, so whatever backlog the load causes carries over.
    long settleStart = System.nanoTime();
    for (int change = 0; change < churnRate * churnSettleSeconds; change++) {
      long wait = settleStart + change * interval - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      controlPlane.moveEndpoint(
          random.nextInt(services), random.nextInt(endpoints), BenchMesh.SETTLING_CHANGES + change);
    }
    controlPlane.forgetPublications();
    long bytes = counters.bytes().sum();
    long pushes = counters.responses().sum();
    long cpu = controlPlane.cpuNanos();
    long harnessCpu = Machine.cpuNanos();
    long start = System.nanoTime();
    for (int change = 0; change < changes; change++) {
      long wait = start + change * interval - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      int service = random.nextInt(services);
      tracker.expect(change, service, System.nanoTime(), subscribers[service]);
      controlPlane.moveEndpoint(service, random.nextInt(endpoints), change);
    }
    double issuedSeconds = (System.nanoTime() - start) / 1e9;
    long cpuIssued = controlPlane.cpuNanos() - cpu;
    long harnessCpuIssued = Machine.cpuNanos() - harnessCpu;
    boolean complete =
        await(
            () -> {
              for (int change = 0; change < changes; change++) {
                if (!tracker.converged(change)) {
                  return false;
                }
              }
              return true;
            });
    Percentiles convergence = new Percentiles(changes);
    // Also the slowest convergence of each second's changes, on standard error: whether a tail
    // comes from one stall or from a backlog that grows.
    StringBuilder slowestBySecond = new StringBuilder("endpointChurn: slowest per second (ms):");
    long slowest = 0;
    for (int change = 0; change < changes; change++) {
      if (tracker.converged(change) && subscribers[serviceOfChange(tracker, change)] > 0) {
        convergence.add(tracker.convergenceNanos(change));
        slowest = Math.max(slowest, tracker.convergenceNanos(change));
      }
      if ((change + 1) % churnRate == 0) {
        slowestBySecond.append(' ').append(slowest / 1_000_000);
        slowest = 0;
      }
    }
    System.err.println(slowestBySecond);
    long sentBytes = counters.bytes().sum() - bytes;
    long sentPushes = counters.responses().sum() - pushes;
    return new Scenario(
        "endpointChurn",
        round(issuedSeconds),
        complete,
        convergence.summarize(),
        round(cpuIssued / 1e9 / issuedSeconds),
        round(cpuIssued / 1e9),
        round(harnessCpuIssued / 1e9),
        sentBytes,
        sentPushes,
        round((double) sentPushes / changes),
        round((double) sentBytes / changes),
        breakdown(tracker, controlPlane.publications(0, changes), subscribers, 0, changes));
  }

  /**
   * Where the measured endpoint changes' convergence went, as percentiles of each step: from the
   * harness issuing the change to the control plane publishing it (its source, registry and
   * pipeline); to the first subscribed proxy receiving a response that holds it; to the last one
   * receiving it (the fan-out); to the last ACK. Every process on the machine reads the same
   * monotonic clock ({@link System#nanoTime()} is Linux's CLOCK_MONOTONIC). The reference says
   * nothing of its publications: its first step is left out.
   */
  private static Map<String, Percentiles.Summary> breakdown(
      ConvergenceTracker tracker, long[] published, int[] subscribers, int first, int changes) {
    Percentiles toPublished = new Percentiles(changes);
    Percentiles toFirstReceived = new Percentiles(changes);
    Percentiles toLastReceived = new Percentiles(changes);
    Percentiles toLastAck = new Percentiles(changes);
    for (int change = first; change < changes; change++) {
      if (!tracker.converged(change) || subscribers[serviceOfChange(tracker, change)] == 0) {
        continue;
      }
      long issued = tracker.issuedNanos(change);
      long start = issued;
      if (published[change] >= 0) {
        toPublished.add(published[change] - issued);
        start = published[change];
      }
      toFirstReceived.add(tracker.firstReceivedNanos(change) - start);
      toLastReceived.add(tracker.lastReceivedNanos(change) - tracker.firstReceivedNanos(change));
      toLastAck.add(tracker.lastAckNanos(change) - tracker.lastReceivedNanos(change));
    }
    Map<String, Percentiles.Summary> steps = new LinkedHashMap<>();
    if (toPublished.count() > 0) {
      steps.put("issued to published", toPublished.summarize());
    }
    steps.put(
        toPublished.count() > 0 ? "published to first received" : "issued to first received",
        toFirstReceived.summarize());
    steps.put("first to last received", toLastReceived.summarize());
    steps.put("last received to last ACK", toLastAck.summarize());
    return steps;
  }

  private static int serviceOfChange(ConvergenceTracker tracker, int change) {
    return tracker.service(change);
  }

  private Scenario routeChanges(
      ControlPlaneProcess controlPlane,
      ConvergenceTracker tracker,
      int[] subscribers,
      SimulatedProxy.Counters counters) {
    long bytes = counters.bytes().sum();
    long pushes = counters.responses().sum();
    long cpu = controlPlane.cpuNanos();
    long harnessCpu = Machine.cpuNanos();
    long start = System.nanoTime();
    Percentiles convergence = new Percentiles(routeChanges);
    boolean complete = true;
    for (int change = 1; change <= routeChanges && complete; change++) {
      tracker.expect(change, 0, System.nanoTime(), subscribers[0]);
      controlPlane.changeRoute(change);
      int current = change;
      complete = await(() -> tracker.converged(current));
      if (complete) {
        convergence.add(tracker.convergenceNanos(change));
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpuSeconds = (controlPlane.cpuNanos() - cpu) / 1e9;
    double harnessCpuSeconds = (Machine.cpuNanos() - harnessCpu) / 1e9;
    long sentBytes = counters.bytes().sum() - bytes;
    long sentPushes = counters.responses().sum() - pushes;
    return new Scenario(
        "routeChange",
        round(seconds),
        complete,
        convergence.summarize(),
        round(cpuSeconds / seconds),
        round(cpuSeconds),
        round(harnessCpuSeconds),
        sentBytes,
        sentPushes,
        round((double) sentPushes / routeChanges),
        round((double) sentBytes / routeChanges),
        breakdown(
            tracker,
            controlPlane.routePublications(routeChanges + 1),
            subscribers,
            1,
            routeChanges + 1));
  }

  /**
   * Polls until {@code done} or the scenario timeout; returns whether it was done. Every 1 ms: what
   * this times (a scenario's end) needs no finer resolution, and convergence times come from the
   * proxies' own ACK timestamps; polling faster only takes cores from what is measured.
   */
  private boolean await(BooleanSupplier done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(1_000_000);
    }
    return true;
  }

  private static void closeAll(List<ManagedChannel> channels) throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    for (ManagedChannel channel : channels) {
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
    channels.clear();
  }

  private static Map<String, Double> ratios(List<PeerResult> results) {
    Map<String, Double> ratios = new LinkedHashMap<>();
    PeerResult weft = find(results, ControlPlaneCommand.Peer.WEFT);
    PeerResult reference = find(results, ControlPlaneCommand.Peer.REFERENCE);
    if (weft == null || reference == null) {
      return ratios;
    }
    ratios.put(
        "heapPerProxy",
        round(reference.heapBytesPerProxy() / Math.max(1, weft.heapBytesPerProxy())));
    for (String name : List.of("endpointChurn", "routeChange")) {
      Percentiles.Summary w = weft.scenarios().get(name).convergenceMicros();
      Percentiles.Summary r = reference.scenarios().get(name).convergenceMicros();
      ratios.put(name + "P99", round(r.p99Micros() / Math.max(1, w.p99Micros())));
    }
    ratios.put(
        "coldStartSeconds",
        round(
            reference.scenarios().get("coldStart").seconds()
                / Math.max(0.001, weft.scenarios().get("coldStart").seconds())));
    return ratios;
  }

  /**
   * Weft over mutual TLS minus Weft over plaintext, when both ran: in cold start and the reconnect
   * storm, one handshake per proxy and the encryption of what it receives; in churn, encryption
   * alone. CPU per proxy is the scenario's CPU time over N.
   */
  private static Map<String, Double> mtlsMinusPlaintext(List<PeerResult> results) {
    Map<String, Double> differences = new LinkedHashMap<>();
    PeerResult plaintext = find(results, ControlPlaneCommand.Peer.WEFT);
    PeerResult tls = find(results, ControlPlaneCommand.Peer.WEFT_MTLS);
    if (plaintext == null || tls == null) {
      return differences;
    }
    differences.put(
        "heapBytesPerProxy", round(tls.heapBytesPerProxy() - plaintext.heapBytesPerProxy()));
    differences.put(
        "residentBytesPerProxy",
        round(tls.residentBytesPerProxy() - plaintext.residentBytesPerProxy()));
    for (String name : List.of("coldStart", "reconnectStorm")) {
      Scenario withTls = tls.scenarios().get(name);
      Scenario without = plaintext.scenarios().get(name);
      differences.put(name + "Seconds", round(withTls.seconds() - without.seconds()));
      differences.put(
          name + "CpuMillisPerProxy",
          round((withTls.cpuSeconds() - without.cpuSeconds()) * 1000 / tls.proxies()));
      differences.put(
          name + "HarnessCpuMillisPerProxy",
          round(
              (withTls.harnessCpuSeconds() - without.harnessCpuSeconds()) * 1000 / tls.proxies()));
    }
    differences.put(
        "endpointChurnCpuCores",
        round(
            tls.scenarios().get("endpointChurn").cpuCores()
                - plaintext.scenarios().get("endpointChurn").cpuCores()));
    return differences;
  }

  private static PeerResult find(List<PeerResult> results, ControlPlaneCommand.Peer peer) {
    return results.stream().filter(r -> r.peer().equals(peer.name())).findFirst().orElse(null);
  }

  private static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }

  private static void print(Result result) {
    System.out.printf(
        "xDS load on %s%n  %d %s (%s), %d services x %d endpoints, %d %s each%n",
        result.machine(),
        result.proxies(),
        result.proxyType().equals(ProxyType.GRPC.name()) ? "proxyless clients" : "Envoy sidecars",
        result.protocol(),
        result.services(),
        result.endpoints(),
        result.subscriptionsPerProxy(),
        result.proxyType().equals(ProxyType.GRPC.name())
            ? "subscriptions"
            : result.egressPerProxy() > 0
                ? "services seen (declared egress; replicas of a workload share a view)"
                : "services seen (the whole mesh)");
    if (result.tls() != null) {
      System.out.println("  mutual TLS by " + result.tls() + " (both ends)");
    }
    for (PeerResult peer : result.peers()) {
      System.out.printf(
          Locale.ROOT,
          "%n%s: heap %.1f KiB per proxy (%.0f MiB before proxies, %.0f MiB with), resident %.1f"
              + " KiB per proxy, stream errors %d, NACKs %d%s%n",
          peer.peer(),
          peer.heapBytesPerProxy() / 1024,
          peer.heapBytesBefore() / 1048576.0,
          peer.heapBytesWithProxies() / 1048576.0,
          peer.residentBytesPerProxy() / 1024,
          peer.streamErrors(),
          peer.nacks(),
          peer.clustersPerProxy() > 0
              ? String.format(Locale.ROOT, ", %.1f clusters per sidecar", peer.clustersPerProxy())
              : "");
      for (Scenario s : peer.scenarios().values()) {
        String convergence =
            s.convergenceMicros() == null
                ? ""
                : String.format(
                    Locale.ROOT,
                    "; convergence p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                    s.convergenceMicros().p50Micros() / 1000,
                    s.convergenceMicros().p99Micros() / 1000,
                    s.convergenceMicros().maxMicros() / 1000);
        System.out.printf(
            Locale.ROOT,
            "  %-15s %7.2f s%s; CPU %.2f cores (%.2f s; harness %.2f s); %,d pushes, %.1f MiB%s%s%n",
            s.name(),
            s.seconds(),
            s.complete() ? "" : " (INCOMPLETE)",
            s.cpuCores(),
            s.cpuSeconds(),
            s.harnessCpuSeconds(),
            s.pushes(),
            s.bytes() / 1048576.0,
            s.pushesPerChange() > 0
                ? String.format(Locale.ROOT, " (%.1f pushes per change)", s.pushesPerChange())
                : "",
            convergence);
        s.breakdownMicros()
            .forEach(
                (step, summary) ->
                    System.out.printf(
                        Locale.ROOT,
                        "    %-28s p50 %7.1f ms, p99 %7.1f ms%n",
                        step,
                        summary.p50Micros() / 1000,
                        summary.p99Micros() / 1000));
      }
    }
    if (!result.referenceOverWeft().isEmpty()) {
      System.out.println("\nreference / weft: " + result.referenceOverWeft());
    }
    if (!result.mtlsMinusPlaintext().isEmpty()) {
      System.out.println("\nmutual TLS - plaintext: " + result.mtlsMinusPlaintext());
    }
  }
}
