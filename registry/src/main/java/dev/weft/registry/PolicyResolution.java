package dev.weft.registry;

import dev.weft.api.policy.AuthorizationRules;
import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.MeshPolicy;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.api.policy.PolicyConflicts;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.registry.model.PolicyValues;
import dev.weft.registry.model.ResolvedPolicies;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settles which of the policies attached to one Service (or namespace) apply, once, when its
 * attachments change: what {@link ServiceAttachments#policies()} holds. Stateless.
 */
final class PolicyResolution {

  private PolicyResolution() {}

  static ResolvedPolicies of(List<MeshConfig> configs) {
    List<MeshPolicy> policies = new ArrayList<>();
    Map<MeshPolicy, PolicyValues> values = new IdentityHashMap<>();
    TreeMap<String, AuthorizationRules> authorization = new TreeMap<>();
    for (MeshConfig config : configs) {
      if (config.policy().isEmpty() || !(config.resource() instanceof MeshPolicy policy)) {
        continue;
      }
      PolicyValues decoded = config.policy().get();
      if (decoded instanceof PolicyValues.Authorization rules) {
        authorization.put(config.key().namespace() + "/" + config.key().name(), rules.values());
      } else {
        policies.add(policy);
        values.put(policy, decoded);
      }
    }
    if (policies.isEmpty() && authorization.isEmpty()) {
      return ResolvedPolicies.NONE;
    }
    Map<PolicyTarget, TrafficPolicyValues> traffic = new HashMap<>();
    Map<PolicyTarget, FaultInjection> faults = new HashMap<>();
    Map<PolicyTarget, MutualTlsMode> mutualTls = new HashMap<>();
    Map<PolicyTarget, RateLimitValues.LocalLimit> rateLimits = new HashMap<>();
    Map<PolicyTarget, TelemetryValues> telemetry = new HashMap<>();
    for (PolicyConflicts.Resolution<MeshPolicy> resolution : PolicyConflicts.resolve(policies)) {
      PolicyValues accepted = values.get(resolution.accepted());
      if (accepted instanceof PolicyValues.Traffic policy) {
        traffic.put(resolution.target(), policy.values());
      } else if (accepted instanceof PolicyValues.Fault policy) {
        faults.put(resolution.target(), policy.values());
      } else if (accepted instanceof PolicyValues.MeshTls policy) {
        mutualTls.put(resolution.target(), policy.values().mode());
      } else if (accepted instanceof PolicyValues.RateLimit policy) {
        rateLimits.put(resolution.target(), policy.values().local());
      } else if (accepted instanceof PolicyValues.Telemetry policy) {
        telemetry.put(resolution.target(), policy.values());
      }
    }
    return new ResolvedPolicies(traffic, faults, mutualTls, rateLimits, telemetry, authorization);
  }
}
