package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyBucketsTest {

  @Test
  void grpcBucketsInSecondsMapOneToOne() {
    // grpc-opentelemetry's first buckets: (-inf, 0], (0, 0.00001], (0.00001, 0.00005] seconds.
    long[] counts =
        LatencyBuckets.rebucket(List.of(0.0, 0.00001, 0.00005), new long[] {1, 2, 3, 4}, 1000);

    assertThat(counts[0]).isEqualTo(3); // <= 0 and <= 0.01 ms both land in the first bucket
    assertThat(counts[1]).isEqualTo(3);
    assertThat(counts[2]).isEqualTo(4); // above 0.05 ms: the bucket just above
  }

  @Test
  void quantilesInterpolateInsideTheirBucket() {
    long[] counts = new long[LatencyBuckets.COUNT];
    counts[LatencyBuckets.indexOf(15)] = 100; // the bucket (13, 16] ms

    assertThat(LatencyBuckets.quantileMillis(counts, 0.5)).isCloseTo(14.5, within(1e-9));
    assertThat(LatencyBuckets.quantileMillis(new long[LatencyBuckets.COUNT], 0.5)).isNaN();
  }

  @Test
  void everyPrometheusBoundIsABoundOfTheWindowsBuckets() {
    for (double bound : LatencyBuckets.prometheusUpperBoundsMillis()) {
      int index = LatencyBuckets.indexOf(bound);
      // The bucket that holds the bound ends exactly at it: no bucket straddles a Prometheus bound.
      assertThat(LatencyBuckets.indexOf(Math.nextUp(bound))).isEqualTo(index + 1);
    }
  }

  @Test
  void theRepresentativeValueStaysInItsBucket() {
    for (int i = 0; i < LatencyBuckets.COUNT; i++) {
      assertThat(LatencyBuckets.indexOf(LatencyBuckets.representativeMillis(i))).isEqualTo(i);
    }
  }
}
