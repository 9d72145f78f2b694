package dev.weft.ca;

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
