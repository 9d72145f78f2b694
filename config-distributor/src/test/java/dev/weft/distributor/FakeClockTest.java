package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The fixture the timing tests stand on: tasks run when, and only when, time is moved. */
class FakeClockTest {

  private final FakeClock clock = new FakeClock();
  private final long start = clock.nanoTime();
  private final List<Long> ranAt = new ArrayList<>();

  @Test
  void movingTimeRunsEachTaskAtItsDueTimeInOrder() {
    recordIn(30);
    recordIn(10);
    clock.scheduler().execute(this::record);
    // A task scheduled by a task, for a time within the same step, runs in it too.
    var unused = clock.scheduler().schedule(() -> recordIn(5), 10, TimeUnit.MILLISECONDS);
    assertThat(ranAt).as("nothing runs until the test says so").isEmpty();

    assertThat(clock.forwardTime(Duration.ofMillis(100))).isEqualTo(5);

    assertThat(ranAt).containsExactly(0L, 10L, 15L, 30L);
    assertThat(clock.nanoTime() - start).isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
    assertThat(clock.wallClock().instant()).isEqualTo(FakeClock.WALL_START.plusMillis(100));
  }

  @Test
  void aTaskIsNotDueANanosecondEarly() {
    recordIn(10);
    clock.forwardTime(Duration.ofMillis(10).minusNanos(1));
    assertThat(ranAt).isEmpty();
    clock.forwardTime(Duration.ofNanos(1));
    assertThat(ranAt).containsExactly(10L);
  }

  @Test
  void aCancelledTaskNeverRuns() {
    ScheduledFuture<?> task = clock.scheduler().schedule(this::record, 1, TimeUnit.SECONDS);
    assertThat(task.getDelay(TimeUnit.MILLISECONDS)).isEqualTo(1000);
    assertThat(task.cancel(false)).isTrue();
    assertThat(clock.pendingTaskCount()).isZero();
    clock.forwardTime(Duration.ofSeconds(2));
    assertThat(ranAt).isEmpty();
    assertThat(task.isCancelled()).isTrue();
  }

  @Test
  void periodicTasksRepeatAtTheirRateOrAfterTheirDelay() {
    var unused = clock.scheduler().scheduleAtFixedRate(this::record, 0, 40, TimeUnit.MILLISECONDS);
    clock.forwardTime(Duration.ofMillis(100));
    assertThat(ranAt).containsExactly(0L, 40L, 80L);
  }

  @Test
  void aShutDownSchedulerRefusesTasksAndDropsThoseWaiting() {
    recordIn(1000);
    assertThat(clock.scheduler().shutdownNow()).hasSize(1);
    assertThatThrownBy(() -> clock.scheduler().execute(this::record))
        .isInstanceOf(RejectedExecutionException.class);
    clock.forwardTime(Duration.ofSeconds(2));
    assertThat(ranAt).isEmpty();
    assertThat(clock.scheduler().isTerminated()).isTrue();
  }

  @Test
  void timeMovesForwardOnly() {
    assertThatThrownBy(() -> clock.forwardTime(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("forward only");
  }

  private void recordIn(long millis) {
    var unused = clock.scheduler().schedule(this::record, millis, TimeUnit.MILLISECONDS);
  }

  private void record() {
    ranAt.add(TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - start));
  }
}
