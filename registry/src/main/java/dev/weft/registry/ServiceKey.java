package dev.weft.registry;

import java.util.Comparator;
import java.util.Objects;

/** Identifies a Service: its namespace and name. Ordered by namespace, then name. */
public record ServiceKey(String namespace, String name) implements Comparable<ServiceKey> {

  private static final Comparator<ServiceKey> ORDER =
      Comparator.comparing(ServiceKey::namespace).thenComparing(ServiceKey::name);

  public ServiceKey {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  @Override
  public int compareTo(ServiceKey other) {
    return ORDER.compare(this, other);
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
