package dev.weft.registry;

import dev.weft.registry.model.MeshRoute;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;
import java.util.Optional;

/**
 * Validated configuration the registry carries for the stages that translate it, such as a Gateway
 * API {@code HTTPRoute} attached to a Service.
 *
 * @param key kind, namespace and name
 * @param resource the object as validated, for its status; the registry never mutates it after
 *     validation, and neither may a reader
 * @param route for a route, its decoded model, which is what translation reads
 */
public record MeshConfig(ObjectKey key, HasMetadata resource, Optional<MeshRoute> route) {

  public MeshConfig {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(route, "route");
  }

  /** A config that is not a route. */
  public MeshConfig(ObjectKey key, HasMetadata resource) {
    this(key, resource, Optional.empty());
  }
}
