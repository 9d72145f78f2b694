package dev.weft.api.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated {@link TrafficPolicy} as plain values, for translators: no Fabric8 types, no nulls. A
 * section the policy leaves out is empty.
 */
public record TrafficPolicyValues(
    List<PolicyTarget> targets,
    Optional<LoadBalancing> loadBalancing,
    Optional<CircuitBreaker> circuitBreaker,
    Optional<OutlierDetection> outlierDetection,
    Optional<RetryDefaults> retry) {

  public TrafficPolicyValues {
    targets = List.copyOf(targets);
    Objects.requireNonNull(loadBalancing, "loadBalancing");
    Objects.requireNonNull(circuitBreaker, "circuitBreaker");
    Objects.requireNonNull(outlierDetection, "outlierDetection");
    Objects.requireNonNull(retry, "retry");
  }
}
