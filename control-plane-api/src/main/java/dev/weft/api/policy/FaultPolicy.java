package dev.weft.api.policy;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * Faults injected into calls to a Service (or one of its route rules): a fixed delay and an abort
 * with an HTTP or gRPC status, each for a share of calls. {@code mesh.weft.dev/v1alpha1
 * FaultPolicy}. Kept apart from {@link TrafficPolicy} so that a chaos experiment can be added and
 * deleted without touching the Service's steady-state policy.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("FaultPolicy")
@Plural("faultpolicies")
@Singular("faultpolicy")
@ShortNames("wfp")
public final class FaultPolicy extends CustomResource<FaultPolicySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  @Override
  public List<PolicyTargetReference> targetRefs() {
    return spec == null || spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
  }
}
