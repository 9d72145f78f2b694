package dev.weft.telemetry;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns cumulative histogram points into deltas, per series: a sender (reporter and resource,
 * joined into one key by the caller) and a point of it (metric and attributes). OTLP senders such
 * as the OpenTelemetry SDK export cumulative totals since their start; golden metrics need what
 * happened since the last export.
 *
 * <p>A series seen for the first time counts whole: its total is what it saw since it started. A
 * restart of the sender is recognized by a new start time, or by a count (or any bucket) that went
 * down; the new total is then the delta. The number of series kept is bounded: once full, series
 * idle for longer than {@code idleAfter} are dropped (looked for at most once a second), and a new
 * series that still does not fit is refused (the caller counts it). Thread-safe: a sender's series
 * are updated under its own lock.
 *
 * <p>Memory is what bounds the collector at scale (a mesh of 10,000 pods has some 200,000 series),
 * so a sender's key is kept once for all its points, and a point keeps only its non-zero buckets: a
 * latency histogram fills a few of its 41.
 */
final class CumulativeDeltas {

  /** One histogram point as it arrived: totals since {@code startNanos} (the sender's clock). */
  record HistogramTotals(long startNanos, long count, long[] bucketCounts) {}

  /** What changed in a series since its previous point. */
  record HistogramDelta(long count, long[] bucketCounts) {}

  private static final long SWEEP_EVERY_MILLIS = 1_000;

  private final ConcurrentHashMap<String, Sender> senders = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong lastSweepMillis = new AtomicLong(Long.MIN_VALUE);
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
   * The delta of {@code totals} over the previous point of series {@code point} of {@code sender};
   * empty when the series is new and no room is left for it.
   */
  Optional<HistogramDelta> delta(String sender, String point, HistogramTotals totals) {
    Optional<HistogramDelta> delta = update(sender, point, totals);
    if (delta.isEmpty() && sweepDue()) {
      dropIdle();
      delta = update(sender, point, totals);
    }
    return delta;
  }

  int size() {
    return size.get();
  }

  private Optional<HistogramDelta> update(String senderKey, String point, HistogramTotals totals) {
    long now = clock.millis();
    while (true) {
      Sender sender = senders.computeIfAbsent(senderKey, unused -> new Sender());
      synchronized (sender) {
        if (sender.retired) {
          continue; // dropped meanwhile: take the one that replaced it
        }
        Previous previous = sender.series.get(point);
        if (previous != null) {
          return Optional.of(previous.advance(totals, now));
        }
        if (!tryIncrement()) {
          if (sender.series.isEmpty()) {
            retire(senderKey, sender);
          }
          return Optional.empty();
        }
        sender.series.put(point, new Previous(totals, now));
        return Optional.of(new HistogramDelta(totals.count(), totals.bucketCounts().clone()));
      }
    }
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

  /** Whether a sweep for idle series may run now: at most once a second, by one caller. */
  private boolean sweepDue() {
    long now = clock.millis();
    long last = lastSweepMillis.get();
    return (last == Long.MIN_VALUE || now - last >= SWEEP_EVERY_MILLIS)
        && lastSweepMillis.compareAndSet(last, now);
  }

  private void dropIdle() {
    long idleBefore = clock.millis() - idleAfter.toMillis();
    senders.forEach(
        (key, sender) -> {
          synchronized (sender) {
            if (sender.retired) {
              return;
            }
            Iterator<Previous> series = sender.series.values().iterator();
            while (series.hasNext()) {
              if (series.next().seenMillis < idleBefore) {
                series.remove();
                size.decrementAndGet();
              }
            }
            if (sender.series.isEmpty()) {
              retire(key, sender);
            }
          }
        });
  }

  /** Removes an empty sender; the caller holds its lock. */
  private void retire(String key, Sender sender) {
    sender.retired = true;
    senders.remove(key, sender);
  }

  /** One sender's series, guarded by the sender's lock. */
  private static final class Sender {
    final Map<String, Previous> series = new HashMap<>();
    boolean retired;
  }

  /**
   * A series' previous point, updated in place. Buckets are kept sparse: {@code nonZero} has a bit
   * per non-zero bucket, and {@code values} their counts in bucket order (for histograms of at most
   * 64 buckets; larger ones are kept whole, {@code dense}).
   */
  private static final class Previous {
    long startNanos;
    long count;
    long seenMillis;
    int bucketCount;
    boolean dense;
    long nonZero;
    long[] values;

    Previous(HistogramTotals totals, long now) {
      store(totals, now);
    }

    HistogramDelta advance(HistogramTotals now, long nowMillis) {
      long[] buckets = now.bucketCounts();
      HistogramDelta delta = null;
      if (startNanos == now.startNanos() && now.count() >= count && bucketCount == buckets.length) {
        long[] differences = new long[buckets.length];
        int stored = 0;
        boolean restarted = false;
        for (int i = 0; i < buckets.length; i++) {
          long before;
          if (dense) {
            before = values[i];
          } else if ((nonZero & 1L << i) != 0) {
            before = values[stored++];
          } else {
            before = 0;
          }
          differences[i] = buckets[i] - before;
          if (differences[i] < 0) {
            restarted = true;
            break;
          }
        }
        if (!restarted) {
          delta = new HistogramDelta(now.count() - count, differences);
        }
      }
      if (delta == null) {
        // A restart: what the new total says happened since.
        delta = new HistogramDelta(now.count(), buckets.clone());
      }
      store(now, nowMillis);
      return delta;
    }

    private void store(HistogramTotals totals, long now) {
      long[] buckets = totals.bucketCounts();
      startNanos = totals.startNanos();
      count = totals.count();
      seenMillis = now;
      bucketCount = buckets.length;
      if (buckets.length > Long.SIZE) {
        dense = true;
        values = buckets.clone();
        return;
      }
      long bits = 0;
      int nonZeroCount = 0;
      for (int i = 0; i < buckets.length; i++) {
        if (buckets[i] != 0) {
          bits |= 1L << i;
          nonZeroCount++;
        }
      }
      if (values == null || dense || values.length != nonZeroCount) {
        values = new long[nonZeroCount];
      }
      dense = false;
      nonZero = bits;
      int stored = 0;
      for (long bucket : buckets) {
        if (bucket != 0) {
          values[stored++] = bucket;
        }
      }
    }
  }
}
