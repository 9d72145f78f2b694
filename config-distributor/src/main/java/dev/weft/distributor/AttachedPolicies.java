package dev.weft.distributor;

import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.model.ResolvedPolicies;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The Weft policies that apply to one Service, after conflict resolution (the oldest policy of a
 * kind on a target wins): for the whole Service and for single route rules ({@code sectionName}).
 * Immutable.
 *
 * @param traffic the TrafficPolicy on the whole Service
 * @param trafficBySection TrafficPolicies on one rule each, by rule name
 * @param fault the FaultPolicy on the whole Service
 * @param faultBySection FaultPolicies on one rule each, by rule name
 */
record AttachedPolicies(
    Optional<TrafficPolicyValues> traffic,
    Map<String, TrafficPolicyValues> trafficBySection,
    Optional<FaultInjection> fault,
    Map<String, FaultInjection> faultBySection) {

  static final AttachedPolicies NONE =
      new AttachedPolicies(Optional.empty(), Map.of(), Optional.empty(), Map.of());

  /**
   * The policies in {@code attachments} that apply to {@code service} or one of its rules; the
   * registry settled their conflicts.
   */
  static AttachedPolicies of(ServiceKey service, ServiceAttachments attachments) {
    ResolvedPolicies resolved = attachments.policies();
    if (resolved.traffic().isEmpty() && resolved.faults().isEmpty()) {
      return NONE;
    }
    Optional<TrafficPolicyValues> traffic = Optional.empty();
    Optional<FaultInjection> fault = Optional.empty();
    Map<String, TrafficPolicyValues> trafficBySection = new TreeMap<>();
    Map<String, FaultInjection> faultBySection = new TreeMap<>();
    for (Map.Entry<PolicyTarget, TrafficPolicyValues> entry : resolved.traffic().entrySet()) {
      PolicyTarget target = entry.getKey();
      if (targets(target, service)) {
        if (target.sectionName().isPresent()) {
          trafficBySection.put(target.sectionName().get(), entry.getValue());
        } else {
          traffic = Optional.of(entry.getValue());
        }
      }
    }
    for (Map.Entry<PolicyTarget, FaultInjection> entry : resolved.faults().entrySet()) {
      PolicyTarget target = entry.getKey();
      if (targets(target, service)) {
        if (target.sectionName().isPresent()) {
          faultBySection.put(target.sectionName().get(), entry.getValue());
        } else {
          fault = Optional.of(entry.getValue());
        }
      }
    }
    return new AttachedPolicies(
        traffic, Map.copyOf(trafficBySection), fault, Map.copyOf(faultBySection));
  }

  /** A policy that lists several Services is attached to each; only this one's target counts. */
  private static boolean targets(PolicyTarget target, ServiceKey service) {
    return target.namespace().equals(service.namespace())
        && target.service().equals(service.name());
  }

  /** The TrafficPolicy for a rule: its own if it has one, else the Service's. */
  Optional<TrafficPolicyValues> trafficFor(String ruleName) {
    TrafficPolicyValues own = ruleName == null ? null : trafficBySection.get(ruleName);
    return own != null ? Optional.of(own) : traffic;
  }

  /** The FaultPolicy for a rule: its own if it has one, else the Service's. */
  Optional<FaultInjection> faultFor(String ruleName) {
    FaultInjection own = ruleName == null ? null : faultBySection.get(ruleName);
    return own != null ? Optional.of(own) : fault;
  }
}
