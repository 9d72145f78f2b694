package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.telemetry.CumulativeDeltas.HistogramDelta;
import dev.weft.telemetry.CumulativeDeltas.HistogramTotals;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CumulativeDeltasTest {

  private final MutableClock clock = new MutableClock();

  @Test
  void aNewSeriesCountsWholeAndThenOnlyWhatChanged() {
    CumulativeDeltas deltas = new CumulativeDeltas(10, Duration.ofMinutes(1), clock);

    assertThat(counts(deltas.delta("sender", "a", totals(1, 3, 5)))).containsExactly(3, 5);
    assertThat(counts(deltas.delta("sender", "a", totals(1, 4, 9)))).containsExactly(1, 4);
    assertThat(deltas.delta("sender", "a", totals(1, 4, 9)).orElseThrow().count()).isZero();
  }

  @Test
  void aNewStartTimeIsARestartAndItsTotalIsTheDelta() {
    CumulativeDeltas deltas = new CumulativeDeltas(10, Duration.ofMinutes(1), clock);
    var unused = deltas.delta("sender", "a", totals(1, 30, 50));

    assertThat(counts(deltas.delta("sender", "a", totals(2, 40, 60)))).containsExactly(40, 60);
  }

  @Test
  void aCountThatWentDownIsARestartEvenWithTheSameStartTime() {
    CumulativeDeltas deltas = new CumulativeDeltas(10, Duration.ofMinutes(1), clock);
    var unused = deltas.delta("sender", "a", totals(1, 30, 50));

    assertThat(counts(deltas.delta("sender", "a", totals(1, 2, 1)))).containsExactly(2, 1);
  }

  @Test
  void aBucketThatWentDownIsARestart() {
    CumulativeDeltas deltas = new CumulativeDeltas(10, Duration.ofMinutes(1), clock);
    var unused = deltas.delta("sender", "a", totals(1, 30, 50));

    assertThat(counts(deltas.delta("sender", "a", totals(1, 10, 90)))).containsExactly(10, 90);
  }

  @Test
  void noMoreSeriesThanTheBoundUntilOldOnesGoIdle() {
    CumulativeDeltas deltas = new CumulativeDeltas(2, Duration.ofMinutes(1), clock);
    var unused = deltas.delta("sender", "a", totals(1, 1, 0));
    unused = deltas.delta("sender", "b", totals(1, 1, 0));

    assertThat(deltas.delta("sender", "c", totals(1, 1, 0))).isEmpty();
    assertThat(deltas.size()).isEqualTo(2);

    clock.advance(Duration.ofSeconds(30));
    unused = deltas.delta("sender", "b", totals(1, 2, 0));
    clock.advance(Duration.ofSeconds(31));

    // "a" has been idle for 61 s and makes room; "b" was seen 31 s ago and stays.
    assertThat(deltas.delta("sender", "c", totals(1, 1, 0))).isPresent();
    assertThat(deltas.size()).isEqualTo(2);
    assertThat(counts(deltas.delta("sender", "b", totals(1, 3, 0)))).containsExactly(1, 0);
  }

  private static HistogramTotals totals(long start, long fast, long slow) {
    return new HistogramTotals(start, fast + slow, new long[] {fast, slow});
  }

  private static long[] counts(Optional<HistogramDelta> delta) {
    return delta.orElseThrow().bucketCounts();
  }

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration duration) {
      now = now.plus(duration);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException("the test's clock has one zone");
    }
  }
}
