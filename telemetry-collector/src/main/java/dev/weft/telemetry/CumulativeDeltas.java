package dev.weft.telemetry;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Turns cumulative histogram points into deltas, per series (reporter, resource, metric and
 * attributes, joined into one key by the caller). OTLP senders such as the OpenTelemetry SDK export
 * cumulative totals since their start; golden metrics need what happened since the last export.
 *
 * <p>A series seen for the first time counts whole: its total is what it saw since it started. A
 * restart of the sender is recognized by a new start time, or by a count (or any bucket) that went
 * down; the new total is then the delta. The number of series kept is bounded: once full, series
 * idle for longer than {@code idleAfter} are dropped, and a new series that still does not fit is
 * refused (the caller counts it). Thread-safe: each series is updated atomically.
 */
final class CumulativeDeltas {

  /** One histogram point as it arrived: totals since {@code startNanos} (the sender's clock). */
  record HistogramTotals(long startNanos, long count, double sum, long[] bucketCounts) {}

  /** What changed in a series since its previous point. */
  record HistogramDelta(long count, double sum, long[] bucketCounts) {}

  private record Previous(HistogramTotals totals, long seenMillis) {}

  private final ConcurrentHashMap<String, Previous> series = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private final int maxSeries;
  private final Duration idleAfter;
  private final Clock clock;

  CumulativeDeltas(int maxSeries, Duration idleAfter, Clock clock) {
    if (maxSeries < 1) {
      throw new IllegalArgumentException("maxSeries must be at least 1: " + maxSeries);
    }
    this.maxSeries = maxSeries;
    this.idleAfter = idleAfter;
    this.clock = clock;
  }

  /**
   * The delta of {@code totals} over the series' previous point; empty when the series is new and
   * no room is left for it.
   */
  Optional<HistogramDelta> delta(String seriesKey, HistogramTotals totals) {
    Optional<HistogramDelta> delta = update(seriesKey, totals);
    if (delta.isEmpty()) {
      dropIdle();
      delta = update(seriesKey, totals);
    }
    return delta;
  }

  int size() {
    return size.get();
  }

  private Optional<HistogramDelta> update(String seriesKey, HistogramTotals totals) {
    long now = clock.millis();
    HistogramDelta[] result = new HistogramDelta[1];
    series.compute(
        seriesKey,
        (key, previous) -> {
          if (previous == null) {
            if (!tryIncrement()) {
              return null;
            }
            result[0] = whole(totals);
          } else {
            result[0] = since(previous.totals(), totals);
          }
          return new Previous(totals, now);
        });
    return Optional.ofNullable(result[0]);
  }

  private boolean tryIncrement() {
    while (true) {
      int current = size.get();
      if (current >= maxSeries) {
        return false;
      }
      if (size.compareAndSet(current, current + 1)) {
        return true;
      }
    }
  }

  private void dropIdle() {
    long idleBefore = clock.millis() - idleAfter.toMillis();
    series.forEach(
        (key, previous) -> {
          if (previous.seenMillis() < idleBefore && series.remove(key, previous)) {
            size.decrementAndGet();
          }
        });
  }

  private static HistogramDelta whole(HistogramTotals totals) {
    return new HistogramDelta(totals.count(), totals.sum(), totals.bucketCounts().clone());
  }

  private static HistogramDelta since(HistogramTotals before, HistogramTotals now) {
    if (before.startNanos() != now.startNanos()
        || now.count() < before.count()
        || before.bucketCounts().length != now.bucketCounts().length) {
      return whole(now);
    }
    long[] buckets = new long[now.bucketCounts().length];
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = now.bucketCounts()[i] - before.bucketCounts()[i];
      if (buckets[i] < 0) {
        return whole(now);
      }
    }
    return new HistogramDelta(now.count() - before.count(), now.sum() - before.sum(), buckets);
  }
}
