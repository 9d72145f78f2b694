package dev.weft.registry;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listener's mailbox: the newest snapshot and the changes merged since its last delivery.
 *
 * <p>Thread-safety: {@link #offer} (from the registry's writer or a subscribing thread) and {@link
 * #deliver} (on the listener's executor) share {@code latest}, {@code pending} and {@code
 * scheduled} under this object's monitor; the listener itself runs outside the lock, at most one
 * call at a time, because a delivery is scheduled only when none is scheduled or running.
 */
public final class Subscription implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Subscription.class);

  private final Executor executor;
  private final MeshListener listener;
  private final Consumer<Subscription> onClose;

  private MeshState latest;
  private ChangeSet pending;
  private boolean scheduled;
  private boolean closed;

  Subscription(Executor executor, MeshListener listener, Consumer<Subscription> onClose) {
    this.executor = executor;
    this.listener = listener;
    this.onClose = onClose;
  }

  /** Adds a published snapshot; never blocks on the listener. */
  void offer(MeshState state, ChangeSet changes) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (latest == null || state.version() >= latest.version()) {
        latest = state;
      }
      pending = pending == null ? changes : pending.merge(changes);
      if (scheduled) {
        return;
      }
      scheduled = true;
    }
    schedule();
  }

  private void schedule() {
    try {
      executor.execute(this::deliver);
    } catch (RejectedExecutionException e) {
      log.warn("listener executor rejected a delivery; unsubscribing {}", listener, e);
      close();
    }
  }

  private void deliver() {
    MeshState state;
    ChangeSet changes;
    synchronized (this) {
      if (closed) {
        return;
      }
      state = latest;
      changes = pending;
      pending = null;
    }
    try {
      listener.onChange(state, changes);
    } catch (RuntimeException e) {
      log.error("mesh listener {} failed on version {}", listener, state.version(), e);
    }
    synchronized (this) {
      if (pending == null || closed) {
        scheduled = false;
        return;
      }
    }
    schedule();
  }

  /** Stops deliveries. A delivery already running finishes. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      latest = null;
      pending = null;
    }
    onClose.accept(this);
  }
}
