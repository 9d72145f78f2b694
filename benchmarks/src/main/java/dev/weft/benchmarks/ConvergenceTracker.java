package dev.weft.benchmarks;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Measures, for each change, the time from its publication to the acknowledgement by the last of
 * the proxies that subscribe to what it changed.
 *
 * <p>Changes to one Service are issued in order, so a proxy that acknowledges a response holding
 * change {@code c} of a Service also holds every earlier change of that Service (visible, or
 * overwritten by {@code c}): {@link #acknowledgedUpTo} credits them all.
 *
 * <p>Thread-safety: atomic arrays; proxies report from their transport threads while the harness
 * registers changes.
 */
final class ConvergenceTracker {

  private final long[] publishedAt;
  private final AtomicIntegerArray serviceOf;
  private final AtomicIntegerArray remaining;
  private final AtomicLongArray lastAck;
  private final AtomicLongArray firstReceived;
  private final AtomicLongArray lastReceived;
  private volatile int latest = -1;

  ConvergenceTracker(int changes) {
    publishedAt = new long[changes];
    serviceOf = new AtomicIntegerArray(changes);
    remaining = new AtomicIntegerArray(changes);
    lastAck = new AtomicLongArray(changes);
    firstReceived = new AtomicLongArray(changes);
    lastReceived = new AtomicLongArray(changes);
    for (int i = 0; i < changes; i++) {
      serviceOf.set(i, -1);
    }
  }

  int capacity() {
    return publishedAt.length;
  }

  /** Registers a change before it is issued: {@code subscribers} proxies must acknowledge it. */
  void expect(int change, int service, long publishedNanos, int subscribers) {
    publishedAt[change] = publishedNanos;
    lastAck.set(change, 0);
    firstReceived.set(change, Long.MAX_VALUE);
    lastReceived.set(change, 0);
    remaining.set(change, subscribers);
    serviceOf.set(change, service);
    latest = Math.max(latest, change);
  }

  /** The Service a change was made to. */
  int service(int change) {
    return serviceOf.get(change);
  }

  /** The newest change registered, or -1. */
  int latest() {
    return latest;
  }

  /**
   * A proxy acknowledged, at {@code nanos}, a response holding change {@code newest} of {@code
   * service}; it had already been credited with every change up to {@code previous}. Returns the
   * newest change now credited.
   */
  int acknowledgedUpTo(int service, int previous, int newest, long receivedNanos, long nanos) {
    int limit = Math.min(newest, publishedAt.length - 1);
    for (int change = previous + 1; change <= limit; change++) {
      if (serviceOf.get(change) == service) {
        firstReceived.accumulateAndGet(change, receivedNanos, Math::min);
        lastReceived.accumulateAndGet(change, receivedNanos, Math::max);
        lastAck.accumulateAndGet(change, nanos, Math::max);
        remaining.decrementAndGet(change);
      }
    }
    return Math.max(previous, newest);
  }

  boolean converged(int change) {
    return remaining.get(change) <= 0;
  }

  /** When the harness issued a change. */
  long issuedNanos(int change) {
    return publishedAt[change];
  }

  /** When the first proxy received a response holding a converged change. */
  long firstReceivedNanos(int change) {
    return firstReceived.get(change);
  }

  /** When the last proxy received one. */
  long lastReceivedNanos(int change) {
    return lastReceived.get(change);
  }

  /** When the last proxy acknowledged one. */
  long lastAckNanos(int change) {
    return lastAck.get(change);
  }

  /** Nanoseconds from publication to the last acknowledgement of a converged change. */
  long convergenceNanos(int change) {
    return lastAck.get(change) - publishedAt[change];
  }
}
