package dev.weft.ca;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock tests move by hand. Thread-safe: the instant is volatile, moves are synchronized. */
final class FakeClock extends Clock {

  private volatile Instant now;

  FakeClock(Instant start) {
    now = start;
  }

  synchronized void advance(Duration step) {
    now = now.plus(step);
  }

  void set(Instant instant) {
    now = instant;
  }

  /** A Caffeine ticker that reads this clock, in nanoseconds since the epoch. */
  Ticker ticker() {
    return () -> {
      Instant instant = now;
      return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
    };
  }

  @Override
  public Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
