package dev.weft.distributor;

import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Admits at most one event per interval, for logging: a client that floods with bad requests must
 * not flood the log as well. What it holds back is counted and handed to the next event admitted,
 * so the log still says how many there were. Thread-safe, lock-free.
 */
final class LogThrottle {

  private final LongSupplier nanoClock;
  private final long intervalNanos;
  private final AtomicLong nextAdmitted;
  private final AtomicLong held = new AtomicLong();

  LogThrottle(LongSupplier nanoClock, long intervalNanos) {
    this.nanoClock = nanoClock;
    this.intervalNanos = intervalNanos;
    this.nextAdmitted = new AtomicLong(nanoClock.getAsLong());
  }

  /**
   * Empty when this event is held back; otherwise how many were held back since the last one
   * admitted.
   */
  OptionalLong admit() {
    long now = nanoClock.getAsLong();
    long next = nextAdmitted.get();
    if (now - next < 0 || !nextAdmitted.compareAndSet(next, now + intervalNanos)) {
      held.incrementAndGet();
      return OptionalLong.empty();
    }
    return OptionalLong.of(held.getAndSet(0));
  }
}
