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
 * How calls to a Service (or one of its route rules) are balanced, limited, ejected and retried:
 * {@code mesh.weft.dev/v1alpha1 TrafficPolicy}. Validate with {@link PolicyValidator#validate(
 * TrafficPolicy)} before use.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("TrafficPolicy")
@Plural("trafficpolicies")
@Singular("trafficpolicy")
@ShortNames("wtp")
public final class TrafficPolicy extends CustomResource<TrafficPolicySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  /** The API group of every Weft policy. */
  public static final String GROUP = "mesh.weft.dev";

  /** The API version of every Weft policy. */
  public static final String VERSION = "v1alpha1";

  @Override
  public List<PolicyTargetReference> targetRefs() {
    return spec == null || spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
  }
}
