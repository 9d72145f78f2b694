package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The per-peer token buckets: their arithmetic, their independence, and their bounded memory. */
class PeerRateLimiterTest {

  final FakeClock clock = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));

  @Test
  void aPeerGetsItsBurstThenItsRateAndOthersAreUntouched() {
    PeerRateLimiter limiter = new PeerRateLimiter(20, 40, clock.ticker());

    for (int i = 0; i < 40; i++) {
      assertThat(limiter.tryAcquire("10.0.0.1")).as("request %d of the burst", i).isTrue();
    }
    assertThat(limiter.tryAcquire("10.0.0.1")).isFalse();
    assertThat(limiter.tryAcquire("10.0.0.2")).as("another peer").isTrue();

    clock.advance(Duration.ofMillis(50));
    assertThat(limiter.tryAcquire("10.0.0.1")).as("one request per 50 ms").isTrue();
    assertThat(limiter.tryAcquire("10.0.0.1")).isFalse();

    // However long it waits, a peer never has more than its burst.
    clock.advance(Duration.ofHours(1));
    int granted = 0;
    while (limiter.tryAcquire("10.0.0.1")) {
      granted++;
    }
    assertThat(granted).isEqualTo(40);
  }

  @Test
  void aBucketIsDroppedOnceItWouldBeFullAgainAndTheirNumberIsBounded() {
    PeerRateLimiter limiter = new PeerRateLimiter(20, 40, clock.ticker());
    limiter.tryAcquire("10.0.0.1");
    assertThat(limiter.peers()).isEqualTo(1);

    clock.advance(Duration.ofSeconds(2));
    assertThat(limiter.peers()).as("40 at 20 per second: full again after 2 s").isZero();

    for (int i = 0; i < PeerRateLimiter.MAX_PEERS + 1000; i++) {
      limiter.tryAcquire("fd00::" + Integer.toHexString(i));
    }
    assertThat(limiter.peers()).isLessThanOrEqualTo(PeerRateLimiter.MAX_PEERS);
  }

  @Test
  void aRateOrBurstThatIsNotPositiveIsRefused() {
    assertThatThrownBy(() -> new PeerRateLimiter(0, 40, clock.ticker()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PeerRateLimiter(20, 0, clock.ticker()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
