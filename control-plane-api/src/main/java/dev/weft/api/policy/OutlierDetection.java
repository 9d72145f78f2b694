package dev.weft.api.policy;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Ejection of endpoints that keep failing. Fields the policy leaves out take Envoy's defaults.
 *
 * @param consecutiveErrors consecutive 5xx responses (or gRPC failures) that eject an endpoint
 * @param consecutiveGatewayErrors consecutive 502/503/504 or connection failures that eject one;
 *     empty when that detector is off
 * @param interval time between ejection sweeps, positive
 * @param baseEjectionTime how long a first ejection lasts, positive
 * @param maxEjectionPercent the most endpoints, in percent, ejected at once (0 to 100)
 */
public record OutlierDetection(
    int consecutiveErrors,
    OptionalInt consecutiveGatewayErrors,
    Duration interval,
    Duration baseEjectionTime,
    int maxEjectionPercent) {

  static final int DEFAULT_CONSECUTIVE_ERRORS = 5;
  static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
  static final Duration DEFAULT_BASE_EJECTION_TIME = Duration.ofSeconds(30);
  static final int DEFAULT_MAX_EJECTION_PERCENT = 10;

  public OutlierDetection {
    Objects.requireNonNull(consecutiveGatewayErrors, "consecutiveGatewayErrors");
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(baseEjectionTime, "baseEjectionTime");
  }
}
