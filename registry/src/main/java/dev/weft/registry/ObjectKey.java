package dev.weft.registry;

import java.util.Comparator;
import java.util.Objects;

/** Identifies one Kubernetes object the registry holds: kind, namespace and name. */
public record ObjectKey(ResourceKind kind, String namespace, String name)
    implements Comparable<ObjectKey> {

  private static final Comparator<ObjectKey> ORDER =
      Comparator.comparing(ObjectKey::kind)
          .thenComparing(ObjectKey::namespace)
          .thenComparing(ObjectKey::name);

  public ObjectKey {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  @Override
  public int compareTo(ObjectKey other) {
    return ORDER.compare(this, other);
  }

  @Override
  public String toString() {
    return kind.kind() + " " + namespace + "/" + name;
  }
}
