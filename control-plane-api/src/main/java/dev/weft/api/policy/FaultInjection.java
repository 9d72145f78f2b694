package dev.weft.api.policy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated {@link FaultPolicy} as plain values, for translators. At least one of {@code delay}
 * and {@code abort} is present.
 */
public record FaultInjection(
    List<PolicyTarget> targets, Optional<Delay> delay, Optional<Abort> abort) {

  public FaultInjection {
    targets = List.copyOf(targets);
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(abort, "abort");
  }

  /**
   * Delays {@code percentage} percent of calls by {@code fixedDelay}.
   *
   * @param percentage 0 to 100
   */
  public record Delay(Duration fixedDelay, double percentage) {
    public Delay {
      Objects.requireNonNull(fixedDelay, "fixedDelay");
    }
  }

  /**
   * Fails {@code percentage} percent of calls with {@code status} of {@code protocol}.
   *
   * @param status an HTTP status (200 to 599) or a gRPC status code (1 to 16)
   * @param percentage 0 to 100
   */
  public record Abort(Protocol protocol, int status, double percentage) {
    public Abort {
      Objects.requireNonNull(protocol, "protocol");
    }
  }

  /** Which status space an abort's status belongs to. */
  public enum Protocol {
    HTTP,
    GRPC
  }
}
