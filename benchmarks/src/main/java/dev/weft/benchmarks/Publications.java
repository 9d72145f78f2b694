package dev.weft.benchmarks;

import dev.weft.registry.ChangeSet;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When a control plane in a child JVM published each of the harness's endpoint and route changes,
 * by change number (endpoint addresses encode theirs, see {@link BenchMesh#changeOf}): the child's
 * part of the harness's per-change breakdown. Thread-safe: Weft's publish listener writes it, the
 * child's command loop reads it.
 */
final class Publications {

  private final Map<Long, Long> publishedAt = new ConcurrentHashMap<>();

  /**
   * When each route change was first published: the first publication of a configuration change
   * after the harness issued it (it issues the next only once every proxy has the last, and routes
   * are the only configuration it changes).
   */
  private final Map<Long, Long> routePublishedAt = new ConcurrentHashMap<>();

  /** The newest route change issued; -1 before the first. */
  private volatile long lastRouteChange = -1;

  /**
   * A {@code ConfigDistributor.Builder.publishListener}: notes the publication of every endpoint
   * change the changed Services' endpoints show that was not published before.
   */
  void published(MeshState state, ChangeSet changes, long nanos) {
    long route = lastRouteChange;
    if (!changes.configs().isEmpty() && route >= 0) {
      routePublishedAt.putIfAbsent(route, nanos);
    }
    for (ServiceKey service : changes.endpoints()) {
      for (Endpoint endpoint : state.endpoints(service).all()) {
        long change = BenchMesh.changeOf(endpoint.address());
        if (change >= 0) {
          publishedAt.putIfAbsent(change, nanos);
        }
      }
    }
  }

  /** Notes that the harness issued route change {@code change}, before it is applied. */
  void routeIssued(long change) {
    lastRouteChange = change;
  }

  /** Forgets the changes published so far. */
  void forget() {
    publishedAt.clear();
    routePublishedAt.clear();
  }

  /**
   * The answer to {@code published FROM COUNT}: {@code published NANOS...}, -1 for a change not
   * published.
   */
  String answer(String[] command) {
    long from = Long.parseLong(command[1]);
    int count = Integer.parseInt(command[2]);
    StringBuilder answer = new StringBuilder("published");
    for (long change = from; change < from + count; change++) {
      answer.append(' ').append(publishedAt.getOrDefault(change, -1L));
    }
    return answer.toString();
  }

  /**
   * The answer to {@code routes-published COUNT}: {@code routes-published NANOS...} for route
   * changes 0 to COUNT - 1, -1 for one not published.
   */
  String routesAnswer(String[] command) {
    int count = Integer.parseInt(command[1]);
    StringBuilder answer = new StringBuilder("routes-published");
    for (long change = 0; change < count; change++) {
      answer.append(' ').append(routePublishedAt.getOrDefault(change, -1L));
    }
    return answer.toString();
  }

  /** The times an answer of {@link #answer} or {@link #routesAnswer} carries, split at spaces. */
  static long[] parse(String[] answer) {
    long[] nanos = new long[answer.length - 1];
    for (int i = 0; i < nanos.length; i++) {
      nanos[i] = Long.parseLong(answer[i + 1]);
    }
    return nanos;
  }
}
