package dev.weft.distributor;

import dev.weft.registry.ChangeSet;
import dev.weft.registry.ServiceKey;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which streams watch which Services, so that a change reaches exactly the streams that hold
 * something it touched: the cost of a push is proportional to its recipients, not to the number of
 * connected proxies.
 *
 * <p>Thread-safety: concurrent maps and sets; streams add and remove themselves from their own
 * executors while the pipeline reads.
 */
final class WatcherIndex {

  private final ConcurrentHashMap<ServiceKey, Set<ConfigWatcher>> byService =
      new ConcurrentHashMap<>();
  private final Set<ConfigWatcher> wildcard = ConcurrentHashMap.newKeySet();
  private final Set<ConfigWatcher> all = ConcurrentHashMap.newKeySet();

  void add(ConfigWatcher watcher) {
    all.add(watcher);
  }

  /** Removes a watcher from everything it watched. */
  void remove(ConfigWatcher watcher, Set<ServiceKey> watched) {
    all.remove(watcher);
    wildcard.remove(watcher);
    for (ServiceKey service : watched) {
      unwatch(watcher, service);
    }
  }

  void watch(ConfigWatcher watcher, ServiceKey service) {
    byService.computeIfAbsent(service, k -> ConcurrentHashMap.newKeySet()).add(watcher);
  }

  void unwatch(ConfigWatcher watcher, ServiceKey service) {
    byService.computeIfPresent(
        service,
        (k, watchers) -> {
          watchers.remove(watcher);
          return watchers.isEmpty() ? null : watchers;
        });
  }

  /** Watchers of every resource of some type: they see every change. */
  void watchAll(ConfigWatcher watcher) {
    wildcard.add(watcher);
  }

  /** Every connected watcher. */
  Set<ConfigWatcher> all() {
    return all;
  }

  /** The watchers a change concerns. */
  Set<ConfigWatcher> concerned(ChangeSet changes) {
    Set<ConfigWatcher> result = new HashSet<>(wildcard);
    addWatchers(changes.services(), result);
    addWatchers(changes.endpoints(), result);
    return result;
  }

  private void addWatchers(Set<ServiceKey> services, Set<ConfigWatcher> into) {
    for (ServiceKey service : services) {
      Set<ConfigWatcher> watchers = byService.get(service);
      if (watchers != null) {
        into.addAll(watchers);
      }
    }
  }

  int size() {
    return all.size();
  }
}
