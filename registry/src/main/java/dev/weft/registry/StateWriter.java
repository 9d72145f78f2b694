package dev.weft.registry;

import dev.weft.registry.Mutation.DecodedSlice;
import dev.weft.registry.Mutation.PodInfo;
import dev.weft.registry.Mutation.SliceEndpoint;
import dev.weft.registry.Mutation.SlicePort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pcollections.HashTreePMap;
import org.pcollections.PMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies mutations and builds the next {@link MeshState}.
 *
 * <p>Thread-safety: confined to the registry's single writer (one drain task at a time), so it uses
 * plain collections for its indexes. What it publishes is immutable and shares structure with the
 * previous snapshot: each mutation costs what it touches, never the size of the mesh.
 *
 * <p>Endpoint sets are rebuilt per slice, once per batch, at {@link #publish()}: a slice or Pod
 * that changes only marks its slices dirty, so a burst of changes to one slice costs one rebuild. A
 * rebuild that yields the same endpoints as before changes nothing and publishes nothing.
 */
final class StateWriter {

  private static final Logger log = LoggerFactory.getLogger(StateWriter.class);

  private PMap<ServiceKey, MeshService> services = HashTreePMap.empty();
  private PMap<ServiceKey, ServiceEndpoints> endpoints = HashTreePMap.empty();
  private PMap<ObjectKey, MeshConfig> configs = HashTreePMap.empty();
  private PMap<String, Rejection> rejections = HashTreePMap.empty();
  private long version;

  private final Map<ObjectKey, DecodedSlice> slices = new HashMap<>();
  private final Map<ObjectKey, PodInfo> pods = new HashMap<>();
  private final Map<ObjectKey, Set<ObjectKey>> slicesByPod = new HashMap<>();
  private final Set<ObjectKey> dirtySlices = new HashSet<>();
  private final ChangeSet.Builder changes = new ChangeSet.Builder();
  private boolean rejectionsChanged;

  void apply(Mutation mutation) {
    if (mutation instanceof Mutation.PutService put) {
      putService(put.service());
    } else if (mutation instanceof Mutation.PutSlice put) {
      putSlice(put.slice());
    } else if (mutation instanceof Mutation.PutPod put) {
      putPod(put.pod());
    } else if (mutation instanceof Mutation.PutConfig put) {
      putConfig(put.config());
    } else if (mutation instanceof Mutation.Delete delete) {
      delete(delete.key());
    } else if (mutation instanceof Mutation.Reject reject) {
      reject(reject.rejection());
    } else if (mutation instanceof Mutation.ClearRejection clear) {
      clearRejection(clear.origin(), clear.object());
    } else if (mutation instanceof Mutation.ClearOrigin clear) {
      clearOrigin(clear.origin());
    }
    // MarkSynced changes no state: the registry acts on it once its batch is published.
  }

  /** Builds the next snapshot, or returns null when nothing changed since the last one. */
  Published publish() {
    rebuildDirtySlices();
    if (changes.isEmpty() && !rejectionsChanged) {
      return null;
    }
    rejectionsChanged = false;
    version++;
    MeshState state = new MeshState(version, services, endpoints, configs, rejections);
    return new Published(state, changes.drain());
  }

  /** A snapshot and what it changed. */
  record Published(MeshState state, ChangeSet changes) {}

  private void putService(MeshService service) {
    if (!service.equals(services.get(service.key()))) {
      services = services.plus(service.key(), service);
      changes.service(service.key());
    }
  }

  private void putConfig(MeshConfig config) {
    MeshConfig old = configs.get(config.key());
    // Fabric8 objects compare by content, so a relist of an unchanged route is a no-op.
    if (old == null || !old.resource().equals(config.resource())) {
      configs = configs.plus(config.key(), config);
      changes.config(config.key());
    }
  }

  private void putSlice(DecodedSlice slice) {
    DecodedSlice old = slices.put(slice.key(), slice);
    if (old != null) {
      unindexPods(old);
      if (!old.service().equals(slice.service())) {
        removeSliceEndpoints(old);
      }
    }
    indexPods(slice);
    dirtySlices.add(slice.key());
  }

  private void putPod(PodInfo pod) {
    PodInfo old = pods.put(pod.key(), pod);
    if (!pod.equals(old)) {
      dirtySlices.addAll(slicesByPod.getOrDefault(pod.key(), Set.of()));
    }
  }

  private void delete(ObjectKey key) {
    switch (key.kind()) {
      case SERVICE -> {
        ServiceKey serviceKey = new ServiceKey(key.namespace(), key.name());
        if (services.containsKey(serviceKey)) {
          services = services.minus(serviceKey);
          changes.service(serviceKey);
        }
      }
      case ENDPOINT_SLICE -> {
        DecodedSlice old = slices.remove(key);
        if (old != null) {
          unindexPods(old);
          removeSliceEndpoints(old);
          dirtySlices.remove(key);
        }
      }
      case POD -> {
        if (pods.remove(key) != null) {
          dirtySlices.addAll(slicesByPod.getOrDefault(key, Set.of()));
        }
      }
      case HTTP_ROUTE, GRPC_ROUTE -> {
        if (configs.containsKey(key)) {
          configs = configs.minus(key);
          changes.config(key);
        }
      }
    }
  }

  private void reject(Rejection rejection) {
    String key = rejectionKey(rejection.origin(), rejection.object());
    if (!rejection.equals(rejections.get(key))) {
      log.warn(
          "{}: rejected {}: {}; its last good version, if any, keeps serving",
          rejection.origin(),
          rejection.object(),
          rejection.errors());
      rejections = rejections.plus(key, rejection);
      rejectionsChanged = true;
    }
  }

  private void clearRejection(String origin, String object) {
    String key = rejectionKey(origin, object);
    if (rejections.containsKey(key)) {
      log.info("{}: {} is accepted again", origin, object);
      rejections = rejections.minus(key);
      rejectionsChanged = true;
    }
  }

  private void clearOrigin(String origin) {
    List<String> stale = new ArrayList<>();
    for (Map.Entry<String, Rejection> entry : rejections.entrySet()) {
      if (entry.getValue().origin().equals(origin)) {
        stale.add(entry.getKey());
      }
    }
    if (!stale.isEmpty()) {
      rejections = rejections.minusAll(stale);
      rejectionsChanged = true;
    }
  }

  private static String rejectionKey(String origin, String object) {
    return origin + '\n' + object;
  }

  private void indexPods(DecodedSlice slice) {
    for (SliceEndpoint endpoint : slice.endpoints()) {
      if (endpoint.pod() != null) {
        slicesByPod.computeIfAbsent(endpoint.pod(), k -> new HashSet<>(2)).add(slice.key());
      }
    }
  }

  private void unindexPods(DecodedSlice slice) {
    for (SliceEndpoint endpoint : slice.endpoints()) {
      if (endpoint.pod() != null) {
        Set<ObjectKey> referencing = slicesByPod.get(endpoint.pod());
        if (referencing != null && referencing.remove(slice.key()) && referencing.isEmpty()) {
          slicesByPod.remove(endpoint.pod());
        }
      }
    }
  }

  private void removeSliceEndpoints(DecodedSlice slice) {
    ServiceEndpoints current = endpoints.get(slice.service());
    if (current == null || !current.containsSlice(slice.key().name())) {
      return;
    }
    ServiceEndpoints updated = current.withoutSlice(slice.key().name());
    endpoints =
        updated.hasSlices()
            ? endpoints.plus(slice.service(), updated)
            : endpoints.minus(slice.service());
    changes.endpoints(slice.service());
  }

  private void rebuildDirtySlices() {
    for (ObjectKey key : dirtySlices) {
      DecodedSlice slice = slices.get(key);
      if (slice == null) {
        continue;
      }
      List<Endpoint> built = expand(slice);
      ServiceEndpoints current = endpoints.getOrDefault(slice.service(), ServiceEndpoints.EMPTY);
      if (current.containsSlice(key.name()) && built.equals(current.slice(key.name()))) {
        continue;
      }
      endpoints = endpoints.plus(slice.service(), current.withSlice(key.name(), built));
      changes.endpoints(slice.service());
    }
    dirtySlices.clear();
  }

  /** Joins a slice's endpoints with their ports and their Pods' identity and labels. */
  private List<Endpoint> expand(DecodedSlice slice) {
    List<Endpoint> result = new ArrayList<>(slice.endpoints().size() * slice.ports().size());
    for (SliceEndpoint endpoint : slice.endpoints()) {
      PodInfo pod = endpoint.pod() == null ? null : pods.get(endpoint.pod());
      String podName = endpoint.pod() == null ? "" : endpoint.pod().name();
      String serviceAccount = pod == null ? "" : pod.serviceAccount();
      Map<String, String> labels = pod == null ? Map.of() : pod.labels();
      for (SlicePort port : slice.ports()) {
        result.add(
            new Endpoint(
                endpoint.address(),
                port.port(),
                port.name(),
                endpoint.conditions(),
                endpoint.zone(),
                endpoint.node(),
                podName,
                serviceAccount,
                labels));
      }
    }
    return result;
  }

  @Override
  public String toString() {
    return "StateWriter{version="
        + version
        + ", slices="
        + slices.size()
        + ", pods="
        + pods.size()
        + ", dirty="
        + dirtySlices.size()
        + "}";
  }
}
