package dev.weft.registry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The endpoints of one Service, merged from all of its EndpointSlices.
 *
 * <p>Immutable. Endpoints are held per slice so that a change to one slice replaces only that
 * slice's list; the merged view is computed on first use and cached. The cache is a benign race:
 * every thread computes the same list from the same immutable slices.
 */
public final class ServiceEndpoints {

  static final ServiceEndpoints EMPTY = new ServiceEndpoints(PersistentMap.empty());

  /** The order of {@link #all()}: by port name, address, port. Each slice is kept in it too. */
  static final Comparator<Endpoint> ORDER =
      (a, b) -> {
        int order = a.portName().compareTo(b.portName());
        if (order == 0) {
          order = a.address().compareTo(b.address());
        }
        return order != 0 ? order : Integer.compare(a.port(), b.port());
      };

  private final PersistentMap<String, List<Endpoint>> bySlice;
  private volatile List<Endpoint> merged;

  private ServiceEndpoints(PersistentMap<String, List<Endpoint>> bySlice) {
    this.bySlice = bySlice;
  }

  /** Replaces one slice's endpoints, which must be immutable and in {@link #ORDER}. */
  ServiceEndpoints withSlice(String slice, List<Endpoint> endpoints) {
    return new ServiceEndpoints(bySlice.plus(slice, endpoints));
  }

  ServiceEndpoints withoutSlice(String slice) {
    return new ServiceEndpoints(bySlice.minus(slice));
  }

  List<Endpoint> slice(String slice) {
    return bySlice.getOrDefault(slice, List.of());
  }

  boolean containsSlice(String slice) {
    return bySlice.containsKey(slice);
  }

  boolean hasSlices() {
    return !bySlice.isEmpty();
  }

  /**
   * Every endpoint, ordered by port name, address and port. An address that appears in several
   * slices, as it may while slices are rebalanced, is listed once, with the best of its conditions:
   * ready over serving over neither.
   */
  public List<Endpoint> all() {
    List<Endpoint> result = merged;
    if (result == null) {
      result = merge();
      merged = result;
    }
    return result;
  }

  /** The endpoints whose condition is ready. */
  public List<Endpoint> ready() {
    return all().stream().filter(Endpoint::ready).toList();
  }

  /** The endpoints that serve the Service port with this name; empty for an unnamed port. */
  public List<Endpoint> forPort(String portName) {
    return all().stream().filter(e -> e.portName().equals(portName)).toList();
  }

  public int size() {
    return all().size();
  }

  public boolean isEmpty() {
    return all().isEmpty();
  }

  private List<Endpoint> merge() {
    if (bySlice.size() == 1) {
      return bySlice.values().iterator().next();
    }
    Map<EndpointIdentity, Endpoint> unique = new HashMap<>();
    for (List<Endpoint> slice : bySlice.values()) {
      for (Endpoint endpoint : slice) {
        unique.merge(
            new EndpointIdentity(endpoint.portName(), endpoint.address(), endpoint.port()),
            endpoint,
            ServiceEndpoints::better);
      }
    }
    List<Endpoint> result = new ArrayList<>(unique.values());
    result.sort(ORDER);
    return List.copyOf(result);
  }

  private static Endpoint better(Endpoint a, Endpoint b) {
    return rank(b) > rank(a) ? b : a;
  }

  private static int rank(Endpoint e) {
    return (e.conditions().ready() ? 2 : 0) + (e.conditions().serving() ? 1 : 0);
  }

  private record EndpointIdentity(String portName, String address, int port) {}

  @Override
  public String toString() {
    return all().toString();
  }
}
