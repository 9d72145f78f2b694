package dev.weft.registry;

import java.util.Set;
import org.pcollections.HashTreePSet;
import org.pcollections.PSet;

/**
 * What one published snapshot changed relative to the one before it, or, once merged, relative to
 * an older one. Immutable.
 *
 * <p>A key in {@link #services()} means the Service was added, changed or removed; in {@link
 * #endpoints()}, that the Service's endpoint set changed (including a Pod's labels or service
 * account); in {@link #configs()}, that a route or policy was added, changed or removed. Whether a
 * key was removed is read from the snapshot: it is no longer there.
 */
public final class ChangeSet {

  public static final ChangeSet EMPTY =
      new ChangeSet(HashTreePSet.empty(), HashTreePSet.empty(), HashTreePSet.empty());

  private final PSet<ServiceKey> services;
  private final PSet<ServiceKey> endpoints;
  private final PSet<ObjectKey> configs;

  private ChangeSet(
      PSet<ServiceKey> services, PSet<ServiceKey> endpoints, PSet<ObjectKey> configs) {
    this.services = services;
    this.endpoints = endpoints;
    this.configs = configs;
  }

  /** A change set that names everything in {@code state}, for a subscriber's first delivery. */
  public static ChangeSet everything(MeshState state) {
    return new ChangeSet(
        HashTreePSet.from(state.services().keySet()),
        HashTreePSet.from(state.endpoints().keySet()),
        HashTreePSet.from(state.configs().keySet()));
  }

  public Set<ServiceKey> services() {
    return services;
  }

  public Set<ServiceKey> endpoints() {
    return endpoints;
  }

  public Set<ObjectKey> configs() {
    return configs;
  }

  public boolean isEmpty() {
    return services.isEmpty() && endpoints.isEmpty() && configs.isEmpty();
  }

  /** The union of this change set and a later one. */
  public ChangeSet merge(ChangeSet later) {
    if (isEmpty()) {
      return later;
    }
    if (later.isEmpty()) {
      return this;
    }
    return new ChangeSet(
        services.plusAll(later.services),
        endpoints.plusAll(later.endpoints),
        configs.plusAll(later.configs));
  }

  @Override
  public String toString() {
    return "ChangeSet{services="
        + services
        + ", endpoints="
        + endpoints
        + ", configs="
        + configs
        + "}";
  }

  /** Accumulates the keys one batch of mutations touches. Confined to the registry's writer. */
  static final class Builder {
    private PSet<ServiceKey> services = HashTreePSet.empty();
    private PSet<ServiceKey> endpoints = HashTreePSet.empty();
    private PSet<ObjectKey> configs = HashTreePSet.empty();

    void service(ServiceKey key) {
      services = services.plus(key);
    }

    void endpoints(ServiceKey key) {
      endpoints = endpoints.plus(key);
    }

    void config(ObjectKey key) {
      configs = configs.plus(key);
    }

    boolean isEmpty() {
      return services.isEmpty() && endpoints.isEmpty() && configs.isEmpty();
    }

    /** Returns what was accumulated and starts over. */
    ChangeSet drain() {
      ChangeSet result = new ChangeSet(services, endpoints, configs);
      services = HashTreePSet.empty();
      endpoints = HashTreePSet.empty();
      configs = HashTreePSet.empty();
      return result;
    }
  }
}
