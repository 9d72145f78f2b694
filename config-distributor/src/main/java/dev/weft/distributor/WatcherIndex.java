package dev.weft.distributor;

import dev.weft.registry.ChangeSet;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which streams watch which Services, so that a change reaches exactly the streams that hold
 * something it touched: the cost of a push is proportional to its recipients, not to the number of
 * connected proxies.
 *
 * <p>Each watcher gets a dense slot number (freed slots are reused), and each Service a bitmap of
 * the slots that watch it. Memory is one bit per (Service, connected stream): about 125 bytes per
 * stream with 1,000 Services, whatever it subscribes to, where a concurrent hash set cost about 40
 * bytes per watched Service (4 KB per stream at 100 Services, the largest part of Weft's heap per
 * proxy). Finding a change's watchers ORs a few bitmaps.
 *
 * <p>Thread-safety: one lock guards everything. Streams change their watches when they subscribe
 * (rarely, and in one call per subscription); the pipeline reads once per published change.
 */
final class WatcherIndex {

  private final Object lock = new Object();

  // Everything below is guarded by lock.
  private final Map<ConfigWatcher, Integer> slots = new IdentityHashMap<>();
  private ConfigWatcher[] bySlot = new ConfigWatcher[64];
  private final BitSet freeSlots = new BitSet();
  private int slotsInUse;
  private final Map<ServiceKey, BitSet> byService = new HashMap<>();
  private final Map<String, BitSet> byNamespace = new HashMap<>();
  private final Map<Integer, String> namespaceBySlot = new HashMap<>();
  private final Map<String, BitSet> byPod = new HashMap<>();
  private final Map<Integer, String> podBySlot = new HashMap<>();
  private final BitSet wildcard = new BitSet();
  private final BitSet views = new BitSet();

  /** Registers a connected watcher; it sees only the first configuration until it watches. */
  void add(ConfigWatcher watcher) {
    synchronized (lock) {
      if (slots.containsKey(watcher)) {
        return;
      }
      int slot = freeSlots.isEmpty() ? slotsInUse : freeSlots.nextSetBit(0);
      if (slot == slotsInUse) {
        slotsInUse++;
        if (slot == bySlot.length) {
          bySlot = Arrays.copyOf(bySlot, bySlot.length * 2);
        }
      } else {
        freeSlots.clear(slot);
      }
      bySlot[slot] = watcher;
      slots.put(watcher, slot);
    }
  }

  /** Removes a watcher from everything it watched ({@code watched}: what it last watched). */
  void remove(ConfigWatcher watcher, Collection<ServiceKey> watched) {
    synchronized (lock) {
      Integer slot = slots.remove(watcher);
      if (slot == null) {
        return;
      }
      for (ServiceKey service : watched) {
        clear(service, slot);
      }
      String namespace = namespaceBySlot.remove(slot);
      if (namespace != null) {
        BitSet watchers = byNamespace.get(namespace);
        watchers.clear(slot);
        if (watchers.isEmpty()) {
          byNamespace.remove(namespace);
        }
      }
      String pod = podBySlot.remove(slot);
      if (pod != null) {
        BitSet watchers = byPod.get(pod);
        watchers.clear(slot);
        if (watchers.isEmpty()) {
          byPod.remove(pod);
        }
      }
      wildcard.clear(slot);
      views.clear(slot);
      bySlot[slot] = null;
      freeSlots.set(slot);
    }
  }

  /** Starts and stops watching Services, in one step. */
  void update(
      ConfigWatcher watcher, Collection<ServiceKey> started, Collection<ServiceKey> stopped) {
    synchronized (lock) {
      Integer slot = slots.get(watcher);
      if (slot == null) {
        return; // already removed: the stream closed
      }
      for (ServiceKey service : started) {
        byService.computeIfAbsent(service, k -> new BitSet()).set(slot);
      }
      for (ServiceKey service : stopped) {
        clear(service, slot);
      }
    }
  }

  private void clear(ServiceKey service, int slot) {
    BitSet watchers = byService.get(service);
    if (watchers != null) {
      watchers.clear(slot);
      if (watchers.isEmpty()) {
        byService.remove(service);
      }
    }
  }

  /** Watchers of every resource of some type: they see every change. */
  void watchAll(ConfigWatcher watcher) {
    synchronized (lock) {
      Integer slot = slots.get(watcher);
      if (slot != null) {
        wildcard.set(slot);
      }
    }
  }

  /**
   * A watcher of a view of the mesh, such as an Envoy sidecar's wildcard Clusters and Listeners: it
   * watches the Services of its view by name, and sees every change that adds, changes or removes a
   * Service, a route or a policy (its view may take one in), but not endpoint changes of Services
   * outside it.
   */
  void watchView(ConfigWatcher watcher) {
    synchronized (lock) {
      Integer slot = slots.get(watcher);
      if (slot != null) {
        views.set(slot);
      }
    }
  }

  /**
   * A watcher of one Pod's endpoints, such as an Envoy sidecar's inbound Listener: it sees every
   * change to the endpoints of a Service the Pod is, or was, an endpoint of. A watcher watches one
   * Pod at most.
   */
  void watchPod(ConfigWatcher watcher, String namespace, String pod) {
    String key = namespace + "/" + pod;
    synchronized (lock) {
      Integer slot = slots.get(watcher);
      if (slot != null && podBySlot.putIfAbsent(slot, key) == null) {
        byPod.computeIfAbsent(key, k -> new BitSet()).set(slot);
      }
    }
  }

  /**
   * A watcher of every Service of a namespace, such as a server's stream, whose Listener depends on
   * which of them its workload serves. A watcher watches one namespace at most.
   */
  void watchNamespace(ConfigWatcher watcher, String namespace) {
    synchronized (lock) {
      Integer slot = slots.get(watcher);
      if (slot != null && namespaceBySlot.putIfAbsent(slot, namespace) == null) {
        byNamespace.computeIfAbsent(namespace, k -> new BitSet()).set(slot);
      }
    }
  }

  /** Every connected watcher. */
  List<ConfigWatcher> all() {
    synchronized (lock) {
      return new ArrayList<>(slots.keySet());
    }
  }

  /**
   * The watchers a change concerns; {@code pods} ({@code namespace/name}) are those with an
   * endpoint, before or after it, in a Service whose endpoints changed ({@link #podsOf}).
   */
  List<ConfigWatcher> concerned(ChangeSet changes, Set<String> pods) {
    return concerned(
        changes.services(),
        changes.endpoints(),
        !changes.services().isEmpty() || !changes.configs().isEmpty(),
        pods);
  }

  /** The Pods ({@code namespace/name}) with an endpoint in the Services whose endpoints changed. */
  static Set<String> podsOf(ChangeSet changes, MeshState before, MeshState after) {
    Set<String> pods = new HashSet<>();
    for (ServiceKey service : changes.endpoints()) {
      for (MeshState state : List.of(before, after)) {
        for (Endpoint endpoint : state.endpoints(service).all()) {
          if (!endpoint.pod().isEmpty()) {
            pods.add(service.namespace() + "/" + endpoint.pod());
          }
        }
      }
    }
    return pods;
  }

  /**
   * The watchers of any of these Services or their namespaces, of any of these {@code pods}, those
   * that watch everything, and, when the change is {@code structural} (it adds, changes or removes
   * a Service, a route or a policy), those that watch a view: one pass over the bitmaps.
   */
  List<ConfigWatcher> concerned(
      Collection<ServiceKey> services,
      Collection<ServiceKey> endpoints,
      boolean structural,
      Set<String> pods) {
    synchronized (lock) {
      BitSet concerned = (BitSet) wildcard.clone();
      if (structural) {
        concerned.or(views);
      }
      or(services, concerned);
      or(endpoints, concerned);
      if (!byPod.isEmpty()) {
        for (String pod : pods) {
          BitSet watchers = byPod.get(pod);
          if (watchers != null) {
            concerned.or(watchers);
          }
        }
      }
      return watchersOf(concerned);
    }
  }

  private List<ConfigWatcher> watchersOf(BitSet slots) {
    List<ConfigWatcher> result = new ArrayList<>(slots.cardinality());
    for (int slot = slots.nextSetBit(0); slot >= 0; slot = slots.nextSetBit(slot + 1)) {
      result.add(bySlot[slot]);
    }
    return result;
  }

  /**
   * The watchers configuration attached to {@code services} may reach: those of any of them, of any
   * Service in the namespace of a namespace-wide one, of their namespaces, and those that watch
   * everything. A superset: {@link AdsStream#concerns} decides for each.
   */
  List<ConfigWatcher> reachedBy(Set<ServiceKey> services) {
    synchronized (lock) {
      BitSet reached = (BitSet) wildcard.clone();
      or(services, reached);
      Set<String> wholeNamespaces = new HashSet<>();
      for (ServiceKey service : services) {
        if (service.isNamespaceWide()) {
          wholeNamespaces.add(service.namespace());
        }
      }
      if (!wholeNamespaces.isEmpty()) {
        for (Map.Entry<ServiceKey, BitSet> entry : byService.entrySet()) {
          if (wholeNamespaces.contains(entry.getKey().namespace())) {
            reached.or(entry.getValue());
          }
        }
      }
      return watchersOf(reached);
    }
  }

  private void or(Collection<ServiceKey> services, BitSet into) {
    for (ServiceKey service : services) {
      BitSet watchers = byService.get(service);
      if (watchers != null) {
        into.or(watchers);
      }
      if (!byNamespace.isEmpty()) {
        BitSet namespaceWatchers = byNamespace.get(service.namespace());
        if (namespaceWatchers != null) {
          into.or(namespaceWatchers);
        }
      }
    }
  }

  int size() {
    synchronized (lock) {
      return slots.size();
    }
  }
}
