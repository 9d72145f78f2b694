package dev.weft.distributor;

import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshPolicy;
import dev.weft.api.policy.PolicyConflicts;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.PolicyValidator;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.api.validation.Validated;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceKey;
import java.util.ArrayList;
import java.util.List;
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

  /** The policies in {@code attachments} that win on {@code service} or one of its rules. */
  static AttachedPolicies of(ServiceKey service, ServiceAttachments attachments) {
    List<MeshPolicy> policies = new ArrayList<>();
    for (MeshConfig config : attachments.configs()) {
      if (config.resource() instanceof MeshPolicy policy) {
        policies.add(policy);
      }
    }
    if (policies.isEmpty()) {
      return NONE;
    }
    Optional<TrafficPolicyValues> traffic = Optional.empty();
    Optional<FaultInjection> fault = Optional.empty();
    Map<String, TrafficPolicyValues> trafficBySection = new TreeMap<>();
    Map<String, FaultInjection> faultBySection = new TreeMap<>();
    for (PolicyConflicts.Resolution<MeshPolicy> resolution : PolicyConflicts.resolve(policies)) {
      PolicyTarget target = resolution.target();
      if (!target.namespace().equals(service.namespace())
          || !target.service().equals(service.name())) {
        continue;
      }
      Optional<String> section = target.sectionName();
      if (resolution.accepted() instanceof TrafficPolicy policy) {
        TrafficPolicyValues values = valid(PolicyValidator.validate(policy));
        if (section.isPresent()) {
          trafficBySection.put(section.get(), values);
        } else {
          traffic = Optional.of(values);
        }
      } else if (resolution.accepted() instanceof FaultPolicy policy) {
        FaultInjection values = valid(PolicyValidator.validate(policy));
        if (section.isPresent()) {
          faultBySection.put(section.get(), values);
        } else {
          fault = Optional.of(values);
        }
      }
    }
    return new AttachedPolicies(
        traffic, Map.copyOf(trafficBySection), fault, Map.copyOf(faultBySection));
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

  /** The registry admits only valid policies, so validation here always succeeds. */
  private static <T> T valid(Validated<T> validated) {
    if (validated instanceof Validated.Valid<T> valid) {
      return valid.value();
    }
    throw new IllegalStateException("an invalid policy reached translation: " + validated);
  }
}
