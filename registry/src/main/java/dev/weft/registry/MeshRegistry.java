package dev.weft.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service registry: one writer that turns the mutations sources submit into immutable,
 * versioned {@link MeshState} snapshots, and a set of subscribers notified of each.
 *
 * <p>Design: sources decode on their own threads and {@link #submit} batches to a lock-free queue.
 * A single drain task on the registry's own thread applies every queued batch, up to {@link
 * #MAX_BATCHES_PER_SNAPSHOT}, then publishes one snapshot for all of them, so a burst costs one
 * publication while an isolated change is published at once. Subscribers have mailboxes that merge
 * what they have not consumed yet, so a slow subscriber never blocks the writer or a source.
 *
 * <p>Thread-safety: {@code writer} is touched only by the drain task, and at most one drain task
 * runs at a time ({@code draining}); {@code current} is a volatile reference to an immutable
 * snapshot; the subscriber list and the source table are concurrent collections.
 */
public final class MeshRegistry implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MeshRegistry.class);

  /**
   * Bounds how many batches one snapshot absorbs, so that under a sustained flood snapshots still
   * appear every few milliseconds instead of after the flood ends. A batch is usually one object, a
   * few microseconds of work, so this bounds a snapshot to a few milliseconds.
   */
  static final int MAX_BATCHES_PER_SNAPSHOT = 1024;

  private final ExecutorService writerThread;
  private final ResourceDecoder decoder = new ResourceDecoder();
  private final StateWriter writer = new StateWriter();
  private final Queue<List<Mutation>> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
  private final Set<String> sources = ConcurrentHashMap.newKeySet();
  private final Set<String> syncedSources = ConcurrentHashMap.newKeySet();
  private volatile MeshState current = MeshState.EMPTY;

  private MeshRegistry() {
    this.writerThread =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "weft-registry-writer");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Creates a registry with its own writer thread; {@link #close()} stops it. */
  public static MeshRegistry create() {
    return new MeshRegistry();
  }

  /**
   * Registers a source by name. The registry reports synced only when every registered source has
   * called {@link RegistrySource#markSynced()}; register every source before starting any.
   */
  public RegistrySource registerSource(String name) {
    Objects.requireNonNull(name, "name");
    if (!sources.add(name)) {
      throw new IllegalArgumentException("a source named " + name + " is already registered");
    }
    return new RegistrySource(name, this, decoder);
  }

  /** The newest snapshot. Never null; version 0 before anything is published. */
  public MeshState current() {
    return current;
  }

  /** Whether every source has delivered its initial state and the writer has applied it. */
  public boolean isSynced() {
    return current.synced();
  }

  /**
   * Subscribes a listener, called on {@code executor}. Its first call carries the current snapshot
   * (if anything was published) with a change set that names everything in it.
   */
  public Subscription subscribe(Executor executor, MeshListener listener) {
    Subscription subscription = new Subscription(executor, listener, subscribers::remove);
    subscribers.add(subscription);
    MeshState state = current;
    if (state.version() > 0) {
      subscription.offer(state, ChangeSet.everything(state));
    }
    return subscription;
  }

  void submit(List<Mutation> batch) {
    queue.add(batch);
    if (draining.compareAndSet(false, true)) {
      writerThread.execute(this::drain);
    }
  }

  private void drain() {
    while (true) {
      List<String> syncedNow = new ArrayList<>();
      int batches = 0;
      List<Mutation> batch;
      while (batches < MAX_BATCHES_PER_SNAPSHOT && (batch = queue.poll()) != null) {
        for (Mutation mutation : batch) {
          if (mutation instanceof Mutation.MarkSynced marker) {
            syncedNow.add(marker.source());
          } else {
            applySafely(mutation);
          }
        }
        batches++;
      }
      if (!syncedNow.isEmpty()) {
        syncedSources.addAll(syncedNow);
        writer.synced(syncedSources.containsAll(sources));
      }
      publish();
      for (String source : syncedNow) {
        log.info("source {} synced at registry version {}", source, current.version());
      }
      if (!queue.isEmpty()) {
        continue;
      }
      draining.set(false);
      // A batch may have arrived after the last poll and before the flag was cleared; whoever
      // sets the flag next drains it.
      if (queue.isEmpty() || !draining.compareAndSet(false, true)) {
        return;
      }
    }
  }

  private void applySafely(Mutation mutation) {
    try {
      writer.apply(mutation);
    } catch (RuntimeException e) {
      // A bug in the writer must not stop the registry: skip this mutation, keep the rest.
      log.error("failed to apply {}; skipping it", mutation, e);
    }
  }

  private void publish() {
    StateWriter.Published published;
    try {
      published = writer.publish();
    } catch (RuntimeException e) {
      // A bug in the writer must not stop the registry: keep serving the last snapshot.
      log.error("failed to publish a registry snapshot; keeping version {}", current.version(), e);
      return;
    }
    if (published == null) {
      return;
    }
    boolean syncChanged = published.state().synced() != current.synced();
    current = published.state();
    if (published.changes().isEmpty() && !syncChanged) {
      return; // only rejections changed: nothing a subscriber acts on
    }
    for (Subscription subscription : subscribers) {
      subscription.offer(published.state(), published.changes());
    }
  }

  /** Stops the writer thread. Subscriptions receive nothing more. */
  @Override
  public void close() {
    writerThread.shutdown();
    try {
      if (!writerThread.awaitTermination(5, TimeUnit.SECONDS)) {
        writerThread.shutdownNow();
      }
    } catch (InterruptedException e) {
      writerThread.shutdownNow();
      Thread.currentThread().interrupt();
    }
    subscribers.forEach(Subscription::close);
  }
}
