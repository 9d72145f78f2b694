package dev.weft.benchmarks;

import java.util.Arrays;

/** Latency samples in nanoseconds, summarised as percentiles in microseconds. */
final class Percentiles {

  private final long[] samples;
  private int count;

  Percentiles(int capacity) {
    samples = new long[capacity];
  }

  void add(long nanos) {
    samples[count++] = nanos;
  }

  int count() {
    return count;
  }

  /** A summary; sorts the samples. */
  Summary summarize() {
    long[] sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
    return new Summary(
        count,
        micros(sorted, 0.50),
        micros(sorted, 0.99),
        micros(sorted, 0.999),
        maxMicros(sorted));
  }

  private static double micros(long[] sorted, double quantile) {
    if (sorted.length == 0) {
      return 0;
    }
    int index = (int) Math.ceil(quantile * sorted.length) - 1;
    return sorted[Math.max(0, index)] / 1_000.0;
  }

  private static double maxMicros(long[] sorted) {
    return sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1_000.0;
  }

  /** Percentiles of one run, in microseconds. */
  record Summary(
      int samples, double p50Micros, double p99Micros, double p999Micros, double maxMicros) {}
}
