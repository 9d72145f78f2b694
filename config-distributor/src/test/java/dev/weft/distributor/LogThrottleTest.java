package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogThrottleTest {

  private final AtomicLong now = new AtomicLong(5_000);
  private final LogThrottle throttle = new LogThrottle(now::get, TimeUnit.SECONDS.toNanos(1));

  @Test
  void aFloodIsOneLinePerSecondThatSaysHowManyWereHeldBack() {
    assertThat(throttle.admit()).isEqualTo(OptionalLong.of(0));
    for (int i = 0; i < 1_000; i++) {
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1) - 1);
      assertThat(throttle.admit()).isEmpty();
    }

    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));

    assertThat(throttle.admit()).isEqualTo(OptionalLong.of(1_000));
    assertThat(throttle.admit()).isEmpty();
  }

  @Test
  void eventsFurtherApartThanTheIntervalAreAllAdmitted() {
    for (int i = 0; i < 3; i++) {
      assertThat(throttle.admit()).isEqualTo(OptionalLong.of(0));
      now.addAndGet(TimeUnit.SECONDS.toNanos(2));
    }
  }
}
