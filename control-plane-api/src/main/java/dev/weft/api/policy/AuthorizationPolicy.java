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
 * Who may call a Service, and what: {@code mesh.weft.dev/v1alpha1 AuthorizationPolicy}, with the
 * semantics users know from Istio's. A Service without one allows every call; with an ALLOW policy,
 * only the calls some ALLOW policy matches; a matching DENY policy refuses a call whatever ALLOWs
 * it. Enforced by the Service's servers (an xDS-enabled gRPC server's RBAC filter); callers are
 * identified by their mutual TLS certificate's SPIFFE ID.
 *
 * <p>Unlike the other policies, several AuthorizationPolicies on one Service do not conflict: all
 * of them apply. Validate with {@link PolicyValidator#validate(AuthorizationPolicy)}.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("AuthorizationPolicy")
@Plural("authorizationpolicies")
@Singular("authorizationpolicy")
@ShortNames("wap")
public final class AuthorizationPolicy extends CustomResource<AuthorizationPolicySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  @Override
  public List<PolicyTargetReference> targetRefs() {
    return spec == null || spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
  }

  /** Every AuthorizationPolicy on a Service applies: none wins over another. */
  @Override
  public boolean exclusive() {
    return false;
  }
}
