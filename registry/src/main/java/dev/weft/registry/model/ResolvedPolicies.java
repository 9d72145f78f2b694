package dev.weft.registry.model;

import dev.weft.api.policy.AuthorizationRules;
import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.policy.TrafficPolicyValues;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The Weft policies attached to one Service (or one namespace), with conflicts settled once
 * (GEP-713: between policies of one kind on the same target, the oldest wins), by target: the whole
 * Service, one rule of its routes or one of its ports ({@code sectionName}), or the whole
 * namespace. Immutable.
 *
 * @param traffic the TrafficPolicy that applies to each target
 * @param faults the FaultPolicy that applies to each target
 * @param mutualTls the mutual TLS mode a MeshTLSPolicy sets on each target
 * @param rateLimits the limit of the RateLimitPolicy that applies to each target (a Service or one
 *     of its ports)
 * @param telemetry the Telemetry that applies to a namespace (its target is the whole namespace)
 * @param authorization every AuthorizationPolicy attached, by {@code namespace/name} (they do not
 *     conflict: all of them apply)
 */
public record ResolvedPolicies(
    Map<PolicyTarget, TrafficPolicyValues> traffic,
    Map<PolicyTarget, FaultInjection> faults,
    Map<PolicyTarget, MutualTlsMode> mutualTls,
    Map<PolicyTarget, RateLimitValues.LocalLimit> rateLimits,
    Map<PolicyTarget, TelemetryValues> telemetry,
    SortedMap<String, AuthorizationRules> authorization) {

  public static final ResolvedPolicies NONE =
      new ResolvedPolicies(Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), new TreeMap<>());

  public ResolvedPolicies {
    traffic = Map.copyOf(traffic);
    faults = Map.copyOf(faults);
    mutualTls = Map.copyOf(mutualTls);
    rateLimits = Map.copyOf(rateLimits);
    telemetry = Map.copyOf(telemetry);
    authorization = new TreeMap<>(authorization);
  }

  @Override
  public SortedMap<String, AuthorizationRules> authorization() {
    return java.util.Collections.unmodifiableSortedMap(authorization);
  }

  /** The TrafficPolicy on {@code target}, if one applies. */
  public Optional<TrafficPolicyValues> traffic(PolicyTarget target) {
    return Optional.ofNullable(traffic.get(target));
  }

  /** The FaultPolicy on {@code target}, if one applies. */
  public Optional<FaultInjection> fault(PolicyTarget target) {
    return Optional.ofNullable(faults.get(target));
  }

  /** The mutual TLS mode set on {@code target}, if a MeshTLSPolicy sets one. */
  public Optional<MutualTlsMode> mutualTls(PolicyTarget target) {
    return Optional.ofNullable(mutualTls.get(target));
  }

  /** The limit a RateLimitPolicy sets on {@code target}, if one applies. */
  public Optional<RateLimitValues.LocalLimit> rateLimit(PolicyTarget target) {
    return Optional.ofNullable(rateLimits.get(target));
  }

  /** What the Telemetry of {@code namespace} sets, if it has one. */
  public Optional<TelemetryValues> telemetry(String namespace) {
    return Optional.ofNullable(telemetry.get(PolicyTarget.wholeNamespace(namespace)));
  }
}
