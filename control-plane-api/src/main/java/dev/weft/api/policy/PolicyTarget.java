package dev.weft.api.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * A validated policy target: a Service, and optionally one of its route rules (a port, for a
 * RateLimitPolicy).
 *
 * @param namespace the namespace of the Service, which is the policy's own
 * @param service the Service's name
 * @param sectionName the route rule's name (a port's name, for a RateLimitPolicy); empty when the
 *     policy applies to the whole Service
 */
public record PolicyTarget(String namespace, String service, Optional<String> sectionName) {

  public PolicyTarget {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(sectionName, "sectionName");
  }

  /** Every Service of {@code namespace}, for a policy that covers its whole namespace. */
  public static PolicyTarget wholeNamespace(String namespace) {
    return new PolicyTarget(namespace, "", Optional.empty());
  }

  public boolean isWholeNamespace() {
    return service.isEmpty();
  }

  @Override
  public String toString() {
    if (isWholeNamespace()) {
      return "every Service of namespace " + namespace;
    }
    return "Service "
        + namespace
        + "/"
        + service
        + sectionName.map(section -> " (section " + section + ")").orElse("");
  }
}
