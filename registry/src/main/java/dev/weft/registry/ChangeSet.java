package dev.weft.registry;

import java.util.Set;

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
      new ChangeSet(PersistentMap.empty(), PersistentMap.empty(), PersistentMap.empty());

  // Sets, as persistent maps to TRUE: merging shares structure instead of copying.
  private final PersistentMap<ServiceKey, Boolean> services;
  private final PersistentMap<ServiceKey, Boolean> endpoints;
  private final PersistentMap<ObjectKey, Boolean> configs;

  private ChangeSet(
      PersistentMap<ServiceKey, Boolean> services,
      PersistentMap<ServiceKey, Boolean> endpoints,
      PersistentMap<ObjectKey, Boolean> configs) {
    this.services = services;
    this.endpoints = endpoints;
    this.configs = configs;
  }

  /** A change set that names everything in {@code state}, for a subscriber's first delivery. */
  public static ChangeSet everything(MeshState state) {
    return new ChangeSet(
        allOf(state.services().keySet()),
        allOf(state.endpoints().keySet()),
        allOf(state.configs().keySet()));
  }

  /**
   * Services whose object changed, or whose attached configuration ({@link MeshState#attachments})
   * did: what a proxy receives for a Service depends on both.
   */
  public Set<ServiceKey> services() {
    return services.keySet();
  }

  public Set<ServiceKey> endpoints() {
    return endpoints.keySet();
  }

  public Set<ObjectKey> configs() {
    return configs.keySet();
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
        union(services, later.services),
        union(endpoints, later.endpoints),
        union(configs, later.configs));
  }

  private static <K> PersistentMap<K, Boolean> union(
      PersistentMap<K, Boolean> a, PersistentMap<K, Boolean> b) {
    boolean aIsSmaller = a.size() < b.size();
    PersistentMap<K, Boolean> result = aIsSmaller ? b : a;
    for (K key : (aIsSmaller ? a : b).keySet()) {
      result = result.plus(key, Boolean.TRUE);
    }
    return result;
  }

  private static <K> PersistentMap<K, Boolean> allOf(Set<K> keys) {
    PersistentMap<K, Boolean> result = PersistentMap.empty();
    for (K key : keys) {
      result = result.plus(key, Boolean.TRUE);
    }
    return result;
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
    private PersistentMap<ServiceKey, Boolean> services = PersistentMap.empty();
    private PersistentMap<ServiceKey, Boolean> endpoints = PersistentMap.empty();
    private PersistentMap<ObjectKey, Boolean> configs = PersistentMap.empty();

    void service(ServiceKey key) {
      services = services.plus(key, Boolean.TRUE);
    }

    void endpoints(ServiceKey key) {
      endpoints = endpoints.plus(key, Boolean.TRUE);
    }

    void config(ObjectKey key) {
      configs = configs.plus(key, Boolean.TRUE);
    }

    boolean isEmpty() {
      return services.isEmpty() && endpoints.isEmpty() && configs.isEmpty();
    }

    /** Returns what was accumulated and starts over. */
    ChangeSet drain() {
      ChangeSet result = new ChangeSet(services, endpoints, configs);
      services = PersistentMap.empty();
      endpoints = PersistentMap.empty();
      configs = PersistentMap.empty();
      return result;
    }
  }
}
