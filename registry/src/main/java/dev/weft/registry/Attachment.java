package dev.weft.registry;

import dev.weft.api.policy.MeshPolicy;
import dev.weft.api.policy.PolicyTargetReference;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Which Services a validated config attaches to. Stateless. */
final class Attachment {

  private Attachment() {}

  /**
   * The Services a route's {@code parentRefs} name in the route's own namespace. A parentRef to a
   * Service in another namespace makes a GAMMA "consumer route", which applies only to that
   * namespace's clients; Weft does not support those yet and attaches nothing for them.
   */
  static Set<ServiceKey> servicesOf(HasMetadata resource) {
    List<ParentReference> parents;
    if (resource instanceof HTTPRoute route) {
      parents = route.getSpec().getParentRefs();
    } else if (resource instanceof GRPCRoute route) {
      parents = route.getSpec().getParentRefs();
    } else if (resource instanceof MeshPolicy policy) {
      return targetsOf(policy);
    } else {
      return Set.of();
    }
    String namespace = resource.getMetadata().getNamespace();
    Set<ServiceKey> services = new LinkedHashSet<>();
    for (ParentReference parent : parents == null ? List.<ParentReference>of() : parents) {
      boolean coreGroup = parent.getGroup() == null || parent.getGroup().isEmpty();
      boolean sameNamespace =
          parent.getNamespace() == null || parent.getNamespace().equals(namespace);
      if (coreGroup && "Service".equals(parent.getKind()) && sameNamespace) {
        services.add(new ServiceKey(namespace, parent.getName()));
      }
    }
    return services;
  }

  /**
   * A policy attaches to the Services its {@code targetRefs} name, in its own namespace; one that
   * covers its whole namespace, to {@link ServiceKey#namespaceWide}.
   */
  private static Set<ServiceKey> targetsOf(MeshPolicy policy) {
    String namespace = policy.getMetadata().getNamespace();
    if (policy.namespaceWide()) {
      return Set.of(ServiceKey.namespaceWide(namespace));
    }
    Set<ServiceKey> services = new LinkedHashSet<>();
    for (PolicyTargetReference target : policy.targetRefs()) {
      if ("Service".equals(target.getKind())) {
        services.add(new ServiceKey(namespace, target.getName()));
      }
    }
    return services;
  }
}
