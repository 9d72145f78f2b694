package dev.weft.telemetry;

import java.util.Arrays;
import java.util.List;

/**
 * The one set of latency bucket boundaries the collector keeps, in milliseconds: grpc-java's
 * default boundaries for its per-call latency histograms (gRFC A66), so the buckets a
 * grpc-opentelemetry sender reports map onto these one to one. Histograms with other boundaries are
 * re-bucketed by each bucket's upper bound. The Prometheus histogram and the sliding window share
 * these boundaries, so both agree on every count.
 */
final class LatencyBuckets {

  /** Upper bounds (inclusive) in milliseconds; a last bucket holds everything above. */
  private static final double[] UPPER_BOUNDS_MILLIS = {
    0.01, 0.05, 0.1, 0.3, 0.6, 0.8, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80,
    100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
    100_000
  };

  /**
   * The Prometheus histogram's buckets: Istio's familiar boundaries where grpc's include them (so
   * every bucket here is a union of buckets above, and its count exact). Eleven rather than forty:
   * each bucket is a line per series in every scrape.
   */
  private static final double[] PROMETHEUS_UPPER_BOUNDS_MILLIS = {
    1, 5, 10, 25, 50, 100, 250, 500, 1_000, 5_000, 10_000
  };

  /** Number of buckets, the overflow bucket included. */
  static final int COUNT = UPPER_BOUNDS_MILLIS.length + 1;

  private LatencyBuckets() {}

  static double[] prometheusUpperBoundsMillis() {
    return PROMETHEUS_UPPER_BOUNDS_MILLIS.clone();
  }

  /** The bucket that holds {@code millis}. */
  static int indexOf(double millis) {
    int found = Arrays.binarySearch(UPPER_BOUNDS_MILLIS, millis);
    return found >= 0 ? found : -found - 1;
  }

  /**
   * A value inside bucket {@code index}, what a call in it adds to the estimated sum and max: the
   * middle of a finite bucket, just above the last bound for the overflow bucket.
   */
  static double representativeMillis(int index) {
    if (index == UPPER_BOUNDS_MILLIS.length) {
      return UPPER_BOUNDS_MILLIS[index - 1] * 1.5;
    }
    double lower = index == 0 ? 0 : UPPER_BOUNDS_MILLIS[index - 1];
    return (lower + UPPER_BOUNDS_MILLIS[index]) / 2;
  }

  /**
   * Re-buckets a histogram with the sender's {@code explicitBounds} (in the sender's unit, {@code
   * toMillis} converts) into these buckets: each sender bucket goes to the bucket of its upper
   * bound, the sender's overflow bucket to the bucket just above its last bound.
   */
  static long[] rebucket(List<Double> explicitBounds, long[] senderCounts, double toMillis) {
    long[] counts = new long[COUNT];
    for (int i = 0; i < senderCounts.length; i++) {
      if (senderCounts[i] == 0) {
        continue;
      }
      int target;
      if (i < explicitBounds.size()) {
        target = indexOf(explicitBounds.get(i) * toMillis);
      } else if (explicitBounds.isEmpty()) {
        target = COUNT - 1;
      } else {
        target = indexOf(Math.nextUp(explicitBounds.get(explicitBounds.size() - 1) * toMillis));
      }
      counts[target] += senderCounts[i];
    }
    return counts;
  }

  /**
   * The {@code quantile} (0..1) of a histogram with these buckets, interpolated linearly inside its
   * bucket; NaN for an empty histogram. The overflow bucket answers with the last bound.
   */
  static double quantileMillis(long[] counts, double quantile) {
    long total = 0;
    for (long count : counts) {
      total += count;
    }
    if (total == 0) {
      return Double.NaN;
    }
    double rank = quantile * total;
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] == 0) {
        continue;
      }
      if (seen + counts[i] >= rank) {
        if (i == UPPER_BOUNDS_MILLIS.length) {
          return UPPER_BOUNDS_MILLIS[i - 1];
        }
        double lower = i == 0 ? 0 : UPPER_BOUNDS_MILLIS[i - 1];
        double upper = UPPER_BOUNDS_MILLIS[i];
        return lower + (upper - lower) * ((rank - seen) / counts[i]);
      }
      seen += counts[i];
    }
    return UPPER_BOUNDS_MILLIS[UPPER_BOUNDS_MILLIS.length - 1];
  }
}
