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
 * How many requests each Pod of a Service (or of one of its ports) accepts: a token bucket that the
 * Envoy sidecar of every Pod enforces on its own, as Envoy's local rate limit does. {@code
 * mesh.weft.dev/v1alpha1 RateLimitPolicy}. Proxyless gRPC servers have no rate limiting. Validate
 * with {@link PolicyValidator#validate(RateLimitPolicy)}.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("RateLimitPolicy")
@Plural("ratelimitpolicies")
@Singular("ratelimitpolicy")
@ShortNames("wrl")
public final class RateLimitPolicy extends CustomResource<RateLimitPolicySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  @Override
  public List<PolicyTargetReference> targetRefs() {
    return spec == null || spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
  }
}
