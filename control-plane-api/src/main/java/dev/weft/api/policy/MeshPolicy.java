package dev.weft.api.policy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;

/** A Weft policy resource: something that attaches to Services through {@code targetRefs}. */
public sealed interface MeshPolicy extends HasMetadata
    permits TrafficPolicy,
        FaultPolicy,
        AuthorizationPolicy,
        MeshTLSPolicy,
        RateLimitPolicy,
        Telemetry {

  /** The policy's {@code spec.targetRefs}; empty when the spec or the list is missing. */
  List<PolicyTargetReference> targetRefs();

  /**
   * Whether one policy of this kind on a target excludes the others (the oldest wins, GEP-713), as
   * for TrafficPolicy, FaultPolicy and RateLimitPolicy, which each set one behaviour; or all of
   * them apply together, as AuthorizationPolicies do.
   */
  default boolean exclusive() {
    return true;
  }

  /**
   * Whether the policy covers every Service of its namespace rather than the ones it targets: a
   * MeshTLSPolicy without {@code targetRefs} does, and a Telemetry always.
   */
  default boolean namespaceWide() {
    return false;
  }
}
