package dev.weft.distributor;

import dev.weft.registry.ChangeSet;
import dev.weft.registry.MeshListener;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns registry snapshots into configuration versions and tells the streams they concern.
 *
 * <p>Stages: (1) hold everything until the registry has synced, so that no proxy is ever sent a
 * partial mesh (after a restart it would lose endpoints); (2) coalesce: a change that touches only
 * endpoints is published at once (the fast path), any other waits until the registry has been quiet
 * for {@code quietPeriod}, at most {@code maxDelay}, so a multi-object edit reaches proxies whole;
 * (3) publish a {@link ConfigVersion} and notify only the streams that watch a Service the change
 * touched. Building responses happens later, on each stream's executor, from resources the {@link
 * ResourceCache} builds once.
 *
 * <p>Thread-safety: {@link #onChange} and the debounce timer run on {@code scheduler}, a single
 * thread, which owns the pending fields; {@link #current} is volatile.
 *
 * <p>Time: every reading comes from {@code nanoClock} and every wait is a task on {@code
 * scheduler}, so a test with a fake clock steps through the quiet period and the max delay exactly.
 */
final class ConfigPipeline implements MeshListener {

  private static final Logger log = LoggerFactory.getLogger(ConfigPipeline.class);

  private final ScheduledExecutorService scheduler;
  private final LongSupplier nanoClock;
  private final Duration quietPeriod;
  private final Duration maxDelay;
  private final ResourceCache cache;
  private final WatcherIndex watchers;

  private volatile ConfigVersion current;
  private long sequence;
  private MeshState pendingState;
  private ChangeSet pendingChanges = ChangeSet.EMPTY;
  private long pendingSinceNanos;
  private ScheduledFuture<?> timer;
  private final ConfigDistributor.PublishListener listener;

  ConfigPipeline(
      ScheduledExecutorService scheduler,
      LongSupplier nanoClock,
      Duration quietPeriod,
      Duration maxDelay,
      ResourceCache cache,
      WatcherIndex watchers,
      ConfigDistributor.PublishListener listener) {
    this.scheduler = scheduler;
    this.nanoClock = nanoClock;
    this.quietPeriod = quietPeriod;
    this.maxDelay = maxDelay;
    this.cache = cache;
    this.watchers = watchers;
    this.listener = listener;
  }

  /** The newest version, or null before the registry has synced. */
  ConfigVersion current() {
    return current;
  }

  /** Called on {@code scheduler}: the pipeline subscribes to the registry with it. */
  @Override
  public void onChange(MeshState state, ChangeSet changes) {
    if (pendingState == null) {
      pendingSinceNanos = nanoClock.getAsLong();
    }
    pendingState = state;
    pendingChanges = pendingChanges.merge(changes);
    if (!state.synced()) {
      return;
    }
    boolean endpointsOnly =
        pendingChanges.services().isEmpty() && pendingChanges.configs().isEmpty();
    if (current == null || endpointsOnly) {
      publish();
      return;
    }
    long waitedNanos = nanoClock.getAsLong() - pendingSinceNanos;
    long delayNanos = Math.min(quietPeriod.toNanos(), maxDelay.toNanos() - waitedNanos);
    if (timer != null) {
      timer.cancel(false);
    }
    if (delayNanos <= 0) {
      publish();
    } else {
      timer = scheduler.schedule(this::publish, delayNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void publish() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    MeshState state = pendingState;
    ChangeSet changes = pendingChanges;
    if (state == null) {
      return;
    }
    pendingState = null;
    pendingChanges = ChangeSet.EMPTY;
    boolean first = current == null;
    MeshState before = first ? null : current.state();
    Set<ServiceKey> attachedOnly = attachedOnly(changes, before, state);
    ConfigVersion version =
        new ConfigVersion(
            ++sequence,
            state,
            nanoClock.getAsLong(),
            attachedOnly,
            routesOnly(attachedOnly, before, state));
    for (ServiceKey service : changes.services()) {
      if (state.service(service).isEmpty()) {
        cache.evict(service);
      }
    }
    current = version;
    List<ConfigWatcher> concerned =
        first
            ? watchers.all()
            : watchers.concerned(changes, WatcherIndex.podsOf(changes, before, state));
    if (first) {
      log.info(
          "serving configuration: registry version {}, {} services",
          state.version(),
          state.services().size());
    }
    for (ConfigWatcher watcher : concerned) {
      watcher.configChanged(version, changes);
    }
    listener.published(state, changes, version.publishedNanos());
  }

  /**
   * The changed Services whose object {@code after} shares with {@code before}: only their
   * attachments changed. Identity, as the registry's snapshots share what did not change: exact,
   * and two lookups per changed Service, once per version instead of per stream.
   */
  @SuppressWarnings("ReferenceEquality")
  static Set<ServiceKey> attachedOnly(ChangeSet changes, MeshState before, MeshState after) {
    if (before == null) {
      return Set.of();
    }
    Set<ServiceKey> attachedOnly = new HashSet<>();
    for (ServiceKey service : changes.services()) {
      MeshService was = before.service(service).orElse(null);
      if (was != null && was == after.service(service).orElse(null)) {
        attachedOnly.add(service);
      }
    }
    return attachedOnly;
  }

  /**
   * Those of {@code attachedOnly} whose policies are equal before and after, and whose namespace's
   * attachments are the same object: what a cluster is built from besides the Service (its
   * policies, its mutual TLS mode) is unchanged, only routes changed.
   */
  @SuppressWarnings("ReferenceEquality")
  static Set<ServiceKey> routesOnly(
      Set<ServiceKey> attachedOnly, MeshState before, MeshState after) {
    Set<ServiceKey> routesOnly = new HashSet<>();
    for (ServiceKey service : attachedOnly) {
      String namespace = service.namespace();
      if (before.namespaceAttachments(namespace) == after.namespaceAttachments(namespace)
          && before.attachments(service).policies().equals(after.attachments(service).policies())) {
        routesOnly.add(service);
      }
    }
    return routesOnly;
  }
}
