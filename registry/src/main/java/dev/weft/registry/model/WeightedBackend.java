package dev.weft.registry.model;

import dev.weft.registry.ServiceKey;
import java.util.Objects;

/**
 * A port of a Service a rule forwards to, and its weight among the rule's backends.
 *
 * @param service the Service
 * @param port its port
 * @param weight relative weight, above zero (a backend of weight zero takes no traffic, so the
 *     decoder leaves it out)
 */
public record WeightedBackend(ServiceKey service, int port, int weight) {
  public WeightedBackend {
    Objects.requireNonNull(service, "service");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port must be between 1 and 65535: " + port);
    }
    if (weight < 1) {
      throw new IllegalArgumentException("weight must be above zero: " + weight);
    }
  }
}
