package dev.weft.ca;

import java.time.Duration;
import java.time.Instant;

/** When the agent renews: pure functions of the certificate, the time and a jitter sample. */
final class RenewalPolicy {

  /**
   * Renewals spread over the tenth of the lifetime before half-life, so workloads started together
   * (a rollout) do not all renew in the same second, and each still renews with half its
   * certificate's life left to retry in.
   */
  static final double JITTER = 0.1;

  /** First retry after a failure; doubled per failure up to {@link #MAX_BACKOFF}. */
  static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);

  /** Five minutes: a CA outage is noticed within that, and a 1-hour certificate gets 6+ tries. */
  static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

  private RenewalPolicy() {}

  /** How long from {@code now} until {@code svid} should be renewed; zero when overdue. */
  static Duration untilRenewal(Svid svid, Instant now, double jitterSample) {
    Instant issued = svid.notBefore().plus(LeafSigner.BACKDATE);
    Duration lifetime = Duration.between(issued, svid.notAfter());
    Instant at =
        issued
            .plus(lifetime.dividedBy(2))
            .minusMillis((long) (lifetime.toMillis() * JITTER * jitterSample));
    Duration delay = Duration.between(now, at);
    return delay.isNegative() ? Duration.ZERO : delay;
  }

  /** The delay after the {@code failures}th failure in a row: exponential, ±20% jitter. */
  static Duration backoff(int failures, double jitterSample) {
    long base = FIRST_BACKOFF.toMillis() << Math.min(failures - 1, 20);
    long capped = Math.min(base, MAX_BACKOFF.toMillis());
    return Duration.ofMillis((long) (capped * (0.8 + 0.4 * jitterSample)));
  }
}
