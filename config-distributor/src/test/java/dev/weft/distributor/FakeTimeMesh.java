package dev.weft.distributor;

import static org.awaitility.Awaitility.await;

import com.google.common.util.concurrent.MoreExecutors;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.Subscription;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A distributor whose time a test drives: its pipeline's timers run on a {@link FakeClock}, every
 * figure of time is read from it, its streams run on the thread that causes their work (a direct
 * executor), and proxies reach it over gRPC's in-process transport, also direct. So a push happens
 * before the call that caused it returns, a test can tell that nothing was sent, and a latency is
 * exactly the time the test moved. No sockets, no sleeps.
 *
 * <p>The one thing not driven by the test is the registry's writer thread: {@link #edit} waits,
 * with a deadline, until the writer has handed the edit's snapshot to the pipeline, then runs what
 * is due at the present instant, without moving time.
 */
final class FakeTimeMesh implements AutoCloseable {

  private static final Duration WAIT = Duration.ofSeconds(10);

  final FakeClock clock = new FakeClock();
  final MeshRegistry registry = MeshRegistry.create();
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final ConfigDistributor distributor;
  private final RegistrySource source = registry.registerSource("test");
  private final Subscription seenSubscription;
  private final String serverName = "fake-time-mesh-" + System.identityHashCode(this);
  private final Server server;
  private final List<AdsTestClient> proxies = new ArrayList<>();

  /**
   * The version of the newest snapshot delivered on the fake clock's executor, after the
   * pipeline's.
   */
  private volatile long seenVersion;

  FakeTimeMesh() {
    this(UnaryOperator.identity());
  }

  /** A mesh whose distributor {@code settings} adjust (the clock settings are the fake's). */
  FakeTimeMesh(UnaryOperator<ConfigDistributor.Builder> settings) {
    distributor =
        settings
            .apply(ConfigDistributor.builder(registry).meterRegistry(meters))
            .clock(clock.wallClock())
            .nanoClock(clock.ticker())
            .scheduler(clock.scheduler())
            .streamExecutor(MoreExecutors.directExecutor())
            .build();
    // Subscribed after the distributor, so its deliveries are queued after the pipeline's.
    seenSubscription =
        registry.subscribe(clock.scheduler(), (state, changes) -> seenVersion = state.version());
    try {
      server =
          InProcessServerBuilder.forName(serverName)
              .directExecutor()
              .addService(distributor.service())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Makes one change through the registry's test source (one object, or markSynced) and returns
   * once the pipeline has taken it, at the present instant: what the change pushes at once has been
   * pushed; what it schedules waits for {@link FakeClock#forwardTime}.
   */
  void edit(java.util.function.Consumer<RegistrySource> change) {
    long before = registry.current().version();
    change.accept(source);
    await()
        .pollInSameThread()
        .pollInterval(Duration.ofMillis(1))
        .atMost(WAIT)
        .until(
            () -> {
              clock.runDueTasks();
              return seenVersion > before;
            });
  }

  /** A raw ADS client connected in-process; closed with the mesh. */
  AdsTestClient proxy() {
    AdsTestClient proxy =
        new AdsTestClient(InProcessChannelBuilder.forName(serverName).directExecutor().build());
    proxies.add(proxy);
    return proxy;
  }

  /** The timer {@code name} (convergence, sync) of a resource type. */
  Timer timer(String name, ResourceType type) {
    return meters.get(name).tag("type", type.name().toLowerCase(Locale.ROOT)).timer();
  }

  /** The responses of a type sent so far. */
  double pushes(ResourceType type) {
    return meters
        .get("weft.xds.pushes")
        .tag("type", type.name().toLowerCase(Locale.ROOT))
        .counter()
        .count();
  }

  /** The total a timer recorded, in milliseconds: exact, as the fake clock moved. */
  static double totalMillis(Timer timer) {
    return timer.totalTime(TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    proxies.forEach(AdsTestClient::close);
    server.shutdownNow();
    seenSubscription.close();
    distributor.close();
    registry.close();
    clock.scheduler().shutdownNow();
  }
}
