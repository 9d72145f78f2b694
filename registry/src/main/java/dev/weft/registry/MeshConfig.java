package dev.weft.registry;

import dev.weft.registry.model.GatewayObject;
import dev.weft.registry.model.MeshRoute;
import dev.weft.registry.model.PolicyValues;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Validated configuration the registry carries for the stages that translate it, such as a Gateway
 * API {@code HTTPRoute} attached to a Service.
 *
 * @param key kind, namespace and name
 * @param resource the object as validated, for its status; the registry never mutates it after
 *     validation, and neither may a reader
 * @param route for a route, its decoded model, which is what translation reads
 * @param policy for a Weft policy, its decoded values, which is what translation reads
 * @param gateway for a Gateway, a GatewayClass or a TLS Secret, its decoded values
 */
public record MeshConfig(
    ObjectKey key,
    HasMetadata resource,
    Optional<MeshRoute> route,
    Optional<PolicyValues> policy,
    Optional<GatewayObject> gateway) {

  public MeshConfig {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(route, "route");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(gateway, "gateway");
  }

  /**
   * The Services this config attaches to: a route's Service parents, a policy's targets ({@link
   * ServiceKey#namespaceWide} for a whole namespace); none for others.
   */
  public Set<ServiceKey> attachedTo() {
    return Attachment.servicesOf(this);
  }

  static MeshConfig ofRoute(ObjectKey key, HasMetadata resource, MeshRoute route) {
    return new MeshConfig(key, resource, Optional.of(route), Optional.empty(), Optional.empty());
  }

  static MeshConfig ofPolicy(ObjectKey key, HasMetadata resource, PolicyValues policy) {
    return new MeshConfig(key, resource, Optional.empty(), Optional.of(policy), Optional.empty());
  }

  static MeshConfig ofGateway(ObjectKey key, HasMetadata resource, GatewayObject gateway) {
    return new MeshConfig(key, resource, Optional.empty(), Optional.empty(), Optional.of(gateway));
  }
}
