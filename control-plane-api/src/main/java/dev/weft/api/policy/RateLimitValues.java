package dev.weft.api.policy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A validated {@link RateLimitPolicy} as plain values, for translators.
 *
 * @param targets the Services, or ports of them ({@link PolicyTarget#sectionName} is a port's name)
 * @param local the token bucket each Pod of the targets enforces
 */
public record RateLimitValues(List<PolicyTarget> targets, LocalLimit local) {

  public RateLimitValues {
    targets = List.copyOf(targets);
    Objects.requireNonNull(local, "local");
  }

  /**
   * A token bucket: {@code burst} tokens at most, {@code requests} more every {@code per}.
   *
   * @param requests tokens added per period, at least 1
   * @param per the period, at least {@link #MIN_PERIOD}
   * @param burst the bucket's size, at least {@code requests}
   */
  public record LocalLimit(int requests, Duration per, int burst) {

    /** Envoy refuses a token bucket that fills more often than this. */
    public static final Duration MIN_PERIOD = Duration.ofMillis(50);

    public LocalLimit {
      Objects.requireNonNull(per, "per");
    }
  }
}
