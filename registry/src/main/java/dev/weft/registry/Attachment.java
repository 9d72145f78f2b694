package dev.weft.registry;

import dev.weft.api.policy.MeshPolicy;
import dev.weft.api.policy.PolicyTargetReference;
import dev.weft.registry.model.MeshRoute;
import java.util.LinkedHashSet;
import java.util.Set;

/** Which Services a validated config attaches to. Stateless. */
final class Attachment {

  private Attachment() {}

  /** The Services a config attaches to: a route's Service parents, a policy's targets. */
  static Set<ServiceKey> servicesOf(MeshConfig config) {
    if (config.route().isPresent()) {
      MeshRoute route = config.route().get();
      Set<ServiceKey> services = new LinkedHashSet<>();
      for (MeshRoute.ServiceParent parent : route.parents()) {
        services.add(new ServiceKey(route.namespace(), parent.service()));
      }
      return services;
    }
    return config.resource() instanceof MeshPolicy policy ? targetsOf(policy) : Set.of();
  }

  /**
   * A policy attaches to the Services its {@code targetRefs} name, in its own namespace; one that
   * covers its whole namespace, to {@link ServiceKey#namespaceWide}.
   */
  static Set<ServiceKey> targetsOf(MeshPolicy policy) {
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
