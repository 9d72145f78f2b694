package dev.weft.registry;

import java.util.Objects;

/** Identifies a Service: its namespace and name. Ordered by namespace, then name. */
public record ServiceKey(String namespace, String name) implements Comparable<ServiceKey> {

  public ServiceKey {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  /**
   * The key that stands for every Service of {@code namespace}, under which the registry keeps what
   * attaches to a whole namespace (no Service has an empty name).
   */
  public static ServiceKey namespaceWide(String namespace) {
    return new ServiceKey(namespace, "");
  }

  public boolean isNamespaceWide() {
    return name.isEmpty();
  }

  // Written out, as is the order: a record's generated equals and hashCode go through method
  // handles, and a Comparator chain through lambdas, all slow until the JIT has compiled them; and
  // Service keys are looked up on every subscription of a fleet that reconnects to a freshly
  // started control plane.
  @Override
  public boolean equals(Object other) {
    return this == other
        || (other instanceof ServiceKey key
            && name.equals(key.name)
            && namespace.equals(key.namespace));
  }

  @Override
  public int hashCode() {
    return 31 * namespace.hashCode() + name.hashCode();
  }

  @Override
  public int compareTo(ServiceKey other) {
    int byNamespace = namespace.compareTo(other.namespace);
    return byNamespace != 0 ? byNamespace : name.compareTo(other.name);
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
