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
 * Whether calls to a Service, or to every Service of a namespace, use mutual TLS: {@code
 * mesh.weft.dev/v1alpha1 MeshTLSPolicy}, with the mode STRICT, PERMISSIVE or DISABLE. Without
 * {@code targetRefs} it covers its whole namespace; a policy on a Service overrides its
 * namespace's, which overrides the mesh-wide default ({@code weft.xds.mtls}). Validate with {@link
 * PolicyValidator#validate(MeshTLSPolicy)}.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("MeshTLSPolicy")
@Plural("meshtlspolicies")
@Singular("meshtlspolicy")
@ShortNames("wmtls")
public final class MeshTLSPolicy extends CustomResource<MeshTLSPolicySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  @Override
  public List<PolicyTargetReference> targetRefs() {
    return spec == null || spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
  }

  /** Without targets, it covers every Service of its namespace. */
  @Override
  public boolean namespaceWide() {
    return targetRefs().isEmpty();
  }
}
