package dev.weft.distributor;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.registry.ChangeSet;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.Subscription;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The config distributor: follows the registry, translates it to Envoy v3 resources, and serves
 * them over ADS to proxies and proxyless gRPC clients and servers.
 *
 * <p>What to send (the {@link ConfigPipeline} and the {@link ResourceCache}) is kept apart from how
 * to stream it (the ADS streams), joined by {@link ConfigWatcher}. Embed {@link #service()} in a
 * gRPC server ({@link XdsServer} does), read {@link #proxies()} for status.
 *
 * <p>Thread-safety: safe to use from any thread once built; see the classes it composes.
 */
public final class ConfigDistributor implements AutoCloseable {

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(Listener.getDescriptor())
                  .add(HttpConnectionManager.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(HTTPFault.getDescriptor())
                  .add(RouteConfiguration.getDescriptor())
                  .add(Cluster.getDescriptor())
                  .add(ClusterLoadAssignment.getDescriptor())
                  .build())
          .omittingInsignificantWhitespace();

  /**
   * The pipeline's thread and its timers (quiet period, max delay, the spread of a graceful end of
   * streams); the distributor's own unless a test injected a fake clock's.
   */
  private final ScheduledExecutorService pipelineThread;

  private final boolean ownsPipelineThread;
  private final Executor pushPool;

  /** The push pool when the distributor owns it (not when a test injected an executor), or null. */
  private final ExecutorService ownedPushPool;

  private final LongSupplier nanoClock;
  private final Subscription subscription;
  private final ConfigPipeline pipeline;
  private final ProxyTable proxies = new ProxyTable();
  private final WatcherIndex watchers;

  /** The resources built once and shared by every stream. */
  private final ResourceCache cache;

  private final AdsService service;
  private final ResourceNames names;
  private final LoadReportService loadReports;
  private final String trustDomain;
  private final MutualTlsMode defaultTlsMode;
  private final XdsMetrics metrics;
  private final long staleAfterNanos;

  /**
   * The sequence each accepted config was first seen published in, by identity: an entry goes with
   * the registry's config object, when a newer version replaces it.
   */
  private final Cache<MeshConfig, Long> firstPublished = Caffeine.newBuilder().weakKeys().build();

  private ConfigDistributor(Builder builder) {
    this.names = new ResourceNames(builder.clusterDomain);
    this.trustDomain = builder.mutualTls.trustDomain();
    this.defaultTlsMode = builder.mutualTls.defaultMode();
    this.nanoClock = builder.nanoClock;
    this.ownsPipelineThread = builder.scheduler == null;
    this.pipelineThread =
        ownsPipelineThread
            ? Executors.newSingleThreadScheduledExecutor(
                named("weft-xds-pipeline", new AtomicInteger()))
            : builder.scheduler;
    this.ownedPushPool =
        builder.streamExecutor == null
            ? Executors.newFixedThreadPool(
                builder.pushThreads, named("weft-xds-push", new AtomicInteger()))
            : null;
    this.pushPool = ownedPushPool != null ? ownedPushPool : builder.streamExecutor;
    this.cache = new ResourceCache(names, builder.mutualTls, builder.rootNamespace);
    this.watchers = new WatcherIndex();
    this.pipeline =
        new ConfigPipeline(
            pipelineThread,
            builder.nanoClock,
            builder.quietPeriod,
            builder.maxDelay,
            cache,
            watchers,
            builder.publishListener);
    this.staleAfterNanos = builder.staleAfter.toNanos();
    this.metrics =
        new XdsMetrics(builder.meters, proxies::size, this::staleProxies, builder.nanoClock);
    String generation = Long.toString(builder.clock.millis());
    StreamLimits limits =
        new StreamLimits(
            builder.maxNamesPerRequest, builder.maxNamesPerStream, builder.maxNameLength);
    this.service =
        new AdsService(
            new AdsContext(
                pipeline,
                cache,
                watchers,
                proxies,
                metrics,
                pushPool,
                builder.clock,
                builder.nanoClock,
                generation,
                limits));
    this.loadReports = new LoadReportService(builder.meters, pipeline, names, limits, metrics);
    this.subscription = builder.registry.subscribe(pipelineThread, pipeline);
  }

  public static Builder builder(MeshRegistry registry) {
    return new Builder(registry);
  }

  /**
   * The mutual TLS mode calls to {@code service} get in {@code state}: its MeshTLSPolicy, else its
   * namespace's, else the mesh's default; what the config sent to workloads makes of them.
   */
  public MutualTlsMode mutualTlsMode(MeshState state, ServiceKey service) {
    return TlsModes.of(state, service, defaultTlsMode);
  }

  /** The ADS service (state of the world and delta), to add to a gRPC server. */
  public ServerServiceDefinition service() {
    return service.definition();
  }

  /**
   * ADS and LRS for the mutual TLS port (beside the CA's CSR service): only proxies with a
   * certificate of the mesh's trust domain get in, and each is held to the identity its certificate
   * names.
   */
  public List<ServerServiceDefinition> authenticatedServices() {
    AuthenticatedPeers peers = new AuthenticatedPeers(trustDomain);
    return List.of(
        service.authenticatedDefinition(trustDomain),
        ServerInterceptors.intercept(loadReports.bindService(), peers));
  }

  /** The Load Reporting Service (LRS) proxies report request counts to, to add beside ADS. */
  public ServerServiceDefinition loadReportingService() {
    return loadReports.bindService();
  }

  /**
   * Counts and logs the streams a server of the distributor's services ends because a message was
   * too large: add it to every such server (the plaintext port, the CA's port).
   */
  public ServerStreamTracer.Factory messageSizeRefusals() {
    return new MessageSizeRefusals(metrics);
  }

  /** The resource names served; see {@link ResourceNames} for the forms clients may use. */
  public ResourceNames names() {
    return names;
  }

  /** The shared resources, for tests of what a change resolves again. */
  ResourceCache cache() {
    return cache;
  }

  /** Whether configuration is served: the registry has synced and a first version exists. */
  public boolean serving() {
    return pipeline.current() != null;
  }

  /**
   * The registry snapshot the newest published configuration was built from, if one was published:
   * a route or policy in it has been programmed, that is, handed to every proxy it concerns.
   */
  public Optional<MeshState> published() {
    ConfigVersion current = pipeline.current();
    return current == null ? Optional.empty() : Optional.of(current.state());
  }

  /**
   * How many connected proxies have lacked configuration they should hold for longer than the stale
   * threshold ({@link Builder#staleAfter}): a response not answered, a version rejected, a push
   * their transport cannot take. Cheap: reads one field per stream.
   */
  public int staleProxies() {
    long now = nanoClock.getAsLong();
    int stale = 0;
    for (AdsStream stream : proxies.all()) {
      if (stream.staleAt(now, staleAfterNanos)) {
        stale++;
      }
    }
    return stale;
  }

  /** The threshold of {@link #staleProxies}. */
  public Duration staleAfter() {
    return Duration.ofNanos(staleAfterNanos);
  }

  /**
   * How far the version of a route or policy in {@code config} (the registry's accepted one) has
   * reached proxies; empty while the newest published configuration does not hold it yet. Reads one
   * field per stream, without asking the streams.
   */
  @SuppressWarnings("ReferenceEquality") // snapshots share an unchanged config by reference
  public Optional<Rollout> rollout(MeshConfig config) {
    Long since = firstPublished.getIfPresent(config);
    if (since == null) {
      ConfigVersion current = pipeline.current();
      if (current == null || current.state().config(config.key()).orElse(null) != config) {
        return Optional.empty();
      }
      // The first time it is seen published: at most the sequence it was published in, so a
      // proxy is never counted as holding what it does not.
      since = current.sequence();
      firstPublished.put(config, since);
    }
    Set<ServiceKey> services = config.attachedTo();
    int concerned = 0;
    int holding = 0;
    List<Rollout.Rejected> rejected = new ArrayList<>();
    // Only the streams that watch what it attaches to (or everything): at 10,000 proxies and a
    // thousand objects, walking every stream for every object was ten million checks per pass.
    for (ConfigWatcher watcher : watchers.reachedBy(services)) {
      if (!(watcher instanceof AdsStream) || !((AdsStream) watcher).concerns(services)) {
        continue;
      }
      AdsStream stream = (AdsStream) watcher;
      concerned++;
      if (stream.heldSequence() >= since) {
        holding++;
        continue;
      }
      ProxyStatus.Nack nack = stream.currentRejection();
      if (nack != null) {
        rejected.add(new Rollout.Rejected(stream.nodeId(), nack.detail()));
      }
    }
    rejected.sort(Comparator.comparing(Rollout.Rejected::nodeId));
    return Optional.of(new Rollout(concerned, holding, rejected));
  }

  /**
   * How many connected proxies {@code config} concerns, whether or not it is published yet: those
   * that do not hold it while it is not. Reads one field per stream, as {@link #rollout} does.
   */
  public int concernedProxies(MeshConfig config) {
    Set<ServiceKey> services = config.attachedTo();
    int concerned = 0;
    for (AdsStream stream : proxies.all()) {
      if (stream.concerns(services)) {
        concerned++;
      }
    }
    return concerned;
  }

  /** How many proxies are connected: cheap, unlike {@link #proxies()}, for health and metrics. */
  public int connectedProxies() {
    return proxies.size();
  }

  /**
   * Every connected proxy and what it holds. Asks each stream on its own executor: for a debug
   * page, not for a probe that runs every few seconds.
   */
  public List<ProxyStatus> proxies() {
    return proxies.statuses();
  }

  /**
   * The resources a proxy holds (per its last acknowledgements), as JSON, by stream id or node id.
   */
  public Optional<String> configDump(String proxy) {
    return proxies.find(proxy).map(ConfigDistributor::dump);
  }

  /**
   * The resources a proxy holds, per type, by stream id or node id: the very instances the cache
   * shares, for tests of that sharing.
   */
  Optional<Map<ResourceType, List<Resource>>> held(String proxy) {
    return proxies.find(proxy).map(AdsStream::held);
  }

  private static String dump(AdsStream stream) {
    Struct.Builder configs = Struct.newBuilder();
    for (Map.Entry<ResourceType, List<Resource>> entry : stream.held().entrySet()) {
      com.google.protobuf.ListValue.Builder resources = com.google.protobuf.ListValue.newBuilder();
      for (Resource resource : entry.getValue()) {
        Struct.Builder json = Struct.newBuilder();
        try {
          JsonFormat.parser().merge(JSON.print(resource.body()), json);
        } catch (InvalidProtocolBufferException e) {
          json.putFields("error", Value.newBuilder().setStringValue(e.getMessage()).build());
        }
        resources.addValues(Value.newBuilder().setStructValue(json));
      }
      configs.putFields(
          entry.getKey().typeUrl(), Value.newBuilder().setListValue(resources).build());
    }
    ProxyStatus status = stream.status();
    Struct dump =
        Struct.newBuilder()
            .putFields("stream", text(status.stream()))
            .putFields("nodeId", text(status.nodeId()))
            .putFields("configs", Value.newBuilder().setStructValue(configs).build())
            .build();
    try {
      return JsonFormat.printer().print(dump);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a Struct always prints", e);
    }
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  /**
   * Ends every open stream with UNAVAILABLE, spread evenly over {@code period}, so that their
   * proxies reconnect elsewhere a few at a time rather than all at once; for a graceful shutdown,
   * once the server takes no new streams. The future completes when the last stream has ended.
   */
  public CompletableFuture<Void> endStreams(Duration period) {
    List<AdsStream> streams =
        proxies.all().stream().sorted(Comparator.comparing(AdsStream::connectedSince)).toList();
    List<CompletableFuture<Void>> ended = new ArrayList<>();
    for (int i = 0; i < streams.size(); i++) {
      AdsStream stream = streams.get(i);
      CompletableFuture<Void> done = new CompletableFuture<>();
      ended.add(done);
      Runnable end = () -> stream.end("the control plane is shutting down", done);
      var unused =
          pipelineThread.schedule(end, period.toNanos() / streams.size() * i, TimeUnit.NANOSECONDS);
    }
    return CompletableFuture.allOf(ended.toArray(CompletableFuture[]::new));
  }

  /** Stops following the registry and the distributor's threads. Streams end with the server. */
  @Override
  public void close() {
    subscription.close();
    if (ownsPipelineThread) {
      pipelineThread.shutdownNow();
    }
    if (ownedPushPool == null) {
      return;
    }
    ownedPushPool.shutdown();
    try {
      if (!ownedPushPool.awaitTermination(5, TimeUnit.SECONDS)) {
        ownedPushPool.shutdownNow();
      }
    } catch (InterruptedException e) {
      ownedPushPool.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private static java.util.concurrent.ThreadFactory named(String prefix, AtomicInteger counter) {
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** Settings of a {@link ConfigDistributor}; each rejects a bad value at once. */
  /** The namespace the chart installs Weft in. */
  public static final String DEFAULT_ROOT_NAMESPACE = "weft-system";

  /** See {@link Builder#publishListener}. */
  @FunctionalInterface
  public interface PublishListener {
    /**
     * {@code state} was published to the streams {@code changes} concern at {@code nanos}, on the
     * distributor's monotonic clock.
     */
    void published(MeshState state, ChangeSet changes, long nanos);
  }

  public static final class Builder {
    private final MeshRegistry registry;
    private MeterRegistry meters = new SimpleMeterRegistry();
    private MutualTls mutualTls = MutualTls.DISABLED;
    private String clusterDomain = "cluster.local";
    private String rootNamespace = DEFAULT_ROOT_NAMESPACE;

    /**
     * Long enough for the objects of one {@code kubectl apply} to arrive together (they come
     * milliseconds apart), short enough not to matter to a person.
     */
    private Duration quietPeriod = Duration.ofMillis(10);

    /** Bounds how long a stream of edits can hold back a push. */
    private Duration maxDelay = Duration.ofMillis(100);

    /**
     * Far beyond a healthy proxy's round trip (milliseconds) and a busy control plane's push
     * (seconds at 10,000 proxies), so that only a proxy that is really stuck is counted.
     */
    private Duration staleAfter = Duration.ofSeconds(30);

    /** One per core: pushes are CPU-bound; more threads would only contend. */
    private int pushThreads = Math.max(2, Runtime.getRuntime().availableProcessors());

    private Clock clock = Clock.systemUTC();
    private LongSupplier nanoClock = System::nanoTime;
    private PublishListener publishListener = (state, changes, nanos) -> {};

    /** Null: the distributor's own pipeline thread. */
    private ScheduledExecutorService scheduler;

    /** Null: the distributor's own pool of {@link #pushThreads}. */
    private Executor streamExecutor;

    private int maxNamesPerRequest = StreamLimits.DEFAULT_NAMES_PER_REQUEST;
    private int maxNamesPerStream = StreamLimits.DEFAULT_NAMES_PER_STREAM;
    private int maxNameLength = StreamLimits.DEFAULT_NAME_LENGTH;

    private Builder(MeshRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
    }

    public Builder meterRegistry(MeterRegistry meters) {
      this.meters = Objects.requireNonNull(meters, "meters");
      return this;
    }

    /** Mutual TLS between workloads; disabled by default. */
    public Builder mutualTls(MutualTls mutualTls) {
      this.mutualTls = Objects.requireNonNull(mutualTls, "mutualTls");
      return this;
    }

    /**
     * The mesh's root namespace: its Telemetry covers every namespace that has none of its own (for
     * the fields that one leaves out). The control plane's own; {@code weft-system} by default.
     */
    public Builder rootNamespace(String rootNamespace) {
      this.rootNamespace = Objects.requireNonNull(rootNamespace, "rootNamespace");
      return this;
    }

    public Builder clusterDomain(String clusterDomain) {
      new ResourceNames(clusterDomain); // validates
      this.clusterDomain = clusterDomain;
      return this;
    }

    /** How long the registry must be quiet before a change other than endpoints is pushed. */
    public Builder quietPeriod(Duration quietPeriod) {
      this.quietPeriod = nonNegative("quietPeriod", quietPeriod);
      return this;
    }

    /** The longest a change other than endpoints waits for the registry to be quiet. */
    public Builder maxDelay(Duration maxDelay) {
      this.maxDelay = nonNegative("maxDelay", maxDelay);
      return this;
    }

    /**
     * How long a proxy may lack configuration before it counts as stale ({@link #staleProxies}).
     */
    public Builder staleAfter(Duration staleAfter) {
      this.staleAfter = nonNegative("staleAfter", staleAfter);
      return this;
    }

    /** How many streams may build and send responses at once. */
    public Builder pushThreads(int pushThreads) {
      if (pushThreads < 1) {
        throw new IllegalArgumentException("pushThreads must be at least 1: " + pushThreads);
      }
      this.pushThreads = pushThreads;
      return this;
    }

    /**
     * The most resource names one request may carry (a load report: clusters); a stream whose
     * client sends more is ended with RESOURCE_EXHAUSTED. 10,000 by default: a proxy that watches
     * every Service of a 5,000-Service mesh, by two names each.
     */
    public Builder maxNamesPerRequest(int value) {
      this.maxNamesPerRequest = StreamLimits.positive("maxNamesPerRequest", value);
      return this;
    }

    /**
     * The most resource names a stream may be subscribed to, over all types; a stream that asks for
     * more is ended with RESOURCE_EXHAUSTED. 40,000 by default: that proxy, for four types. Must
     * not be smaller than {@link #maxNamesPerRequest}.
     */
    public Builder maxNamesPerStream(int value) {
      this.maxNamesPerStream = StreamLimits.positive("maxNamesPerStream", value);
      return this;
    }

    /**
     * The longest a requested resource name may be, in bytes of UTF-8; a stream that names a longer
     * one is ended with INVALID_ARGUMENT. 512 by default: no name Weft serves is longer than 259.
     */
    public Builder maxNameLength(int bytes) {
      this.maxNameLength = StreamLimits.positive("maxNameLength", bytes);
      return this;
    }

    /** The wall clock: status timestamps and the version generation. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The monotonic clock every figure of time is read from: debouncing, the publication time of a
     * version, convergence and sync, push time, stale proxies, how long a proxy has been behind.
     * {@link System#nanoTime()} by default; a test's fake clock, with {@link #scheduler}, in tests.
     */
    public Builder nanoClock(LongSupplier nanoClock) {
      this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
      return this;
    }

    /**
     * Told of every version published to the streams, as it is: for a benchmark that breaks the
     * time from a change to its last ACK down into its steps. Called on the pipeline's thread; it
     * must return at once.
     */
    public Builder publishListener(PublishListener publishListener) {
      this.publishListener = Objects.requireNonNull(publishListener, "publishListener");
      return this;
    }

    /**
     * The pipeline's thread and timers, for tests that drive time: registry changes are delivered
     * on it, and the quiet period, the max delay and the spread of {@link
     * ConfigDistributor#endStreams} are scheduled on it, in {@link #nanoClock}'s time. It must run
     * one task at a time. The caller owns it: {@link ConfigDistributor#close} leaves it running. By
     * default the distributor's own thread.
     */
    Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Where streams handle requests and build and send responses, for tests: a direct executor
     * pushes before the call that caused the push returns, so a test can tell that nothing was
     * sent. Streams keep their own order over it. The caller owns it. By default a pool of {@link
     * #pushThreads}, which {@link ConfigDistributor#close} stops.
     */
    Builder streamExecutor(Executor streamExecutor) {
      this.streamExecutor = Objects.requireNonNull(streamExecutor, "streamExecutor");
      return this;
    }

    public ConfigDistributor build() {
      if (maxDelay.compareTo(quietPeriod) < 0) {
        throw new IllegalArgumentException(
            "maxDelay ("
                + maxDelay
                + ") must not be shorter than quietPeriod ("
                + quietPeriod
                + ")");
      }
      // Validates the limits together (a stream limit below the request limit).
      new StreamLimits(maxNamesPerRequest, maxNamesPerStream, maxNameLength);
      return new ConfigDistributor(this);
    }

    private static Duration nonNegative(String name, Duration value) {
      if (value.isNegative()) {
        throw new IllegalArgumentException(name + " must not be negative: " + value);
      }
      return value;
    }
  }
}
