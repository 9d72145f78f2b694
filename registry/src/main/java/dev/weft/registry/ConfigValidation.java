package dev.weft.registry;

import dev.weft.api.gateway.GatewayRouteValidator;
import dev.weft.api.validation.FieldError;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The registry's own checks of a route, policy or Gateway, for a caller that must answer before the
 * object is stored: the validating admission webhook. The same code refuses an invalid object that
 * reaches the registry anyway (with the webhook down, its failure policy lets it through), so the
 * two never disagree. Stateless and thread-safe.
 */
public final class ConfigValidation {

  /**
   * What the webhook leaves alone: Kubernetes' own kinds, which the API server validates, and
   * Secrets, whose data a webhook should never see.
   */
  private static final Set<ResourceKind> NOT_CHECKED =
      EnumSet.of(
          ResourceKind.SERVICE, ResourceKind.ENDPOINT_SLICE, ResourceKind.POD, ResourceKind.SECRET);

  private ConfigValidation() {}

  /**
   * Why the registry would refuse {@code object}, field by field; empty when it would take it, or
   * when it is not an object the registry reads.
   *
   * <p>Routes are checked only when a parent is a Service (a mesh route). One whose parents are all
   * Gateways may belong to another controller's Gateway, which only the registry's view of Gateways
   * and their classes can tell, so it is left to the registry, which refuses it in its status if it
   * is Weft's.
   */
  public static List<FieldError> errorsOf(HasMetadata object) {
    Optional<ObjectKey> key = ResourceDecoder.keyOf(object);
    if (key.isEmpty() || NOT_CHECKED.contains(key.get().kind())) {
      return List.of();
    }
    if (object instanceof HTTPRoute route
        && route.getSpec() != null
        && !GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())) {
      return List.of();
    }
    return new ResourceDecoder().decode(key.get(), object).errors();
  }
}
