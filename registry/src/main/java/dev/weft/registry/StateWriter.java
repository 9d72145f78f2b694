package dev.weft.registry;

import dev.weft.registry.Mutation.DecodedSlice;
import dev.weft.registry.Mutation.PodInfo;
import dev.weft.registry.Mutation.SliceEndpoint;
import dev.weft.registry.Mutation.SlicePort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.CustomResource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
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

  private PersistentMap<ServiceKey, MeshService> services = PersistentMap.empty();
  private PersistentMap<ServiceKey, ServiceEndpoints> endpoints = PersistentMap.empty();
  private PersistentMap<ObjectKey, MeshConfig> configs = PersistentMap.empty();
  private PersistentMap<ServiceKey, ServiceAttachments> attachments = PersistentMap.empty();
  private PersistentMap<RejectionKey, Rejection> rejections = PersistentMap.empty();
  private long version;

  private final Map<ObjectKey, StoredSlice> slices = new HashMap<>();
  private final Map<ObjectKey, PodInfo> pods = new HashMap<>();
  private final Map<ObjectKey, Set<ObjectKey>> slicesByPod = new HashMap<>();
  private final Set<ObjectKey> dirtySlices = new HashSet<>();
  private final ChangeSet.Builder changes = new ChangeSet.Builder();
  private boolean rejectionsChanged;
  private boolean synced;
  private boolean syncedChanged;

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
      clearRejection(clear.origin(), clear.key());
    } else if (mutation instanceof Mutation.ClearOrigin clear) {
      clearOrigin(clear.origin());
    }
    // MarkSynced changes no state: the registry acts on it once its batch is published.
  }

  /**
   * Records whether every source has delivered its initial state; published with the next state.
   */
  void synced(boolean allSynced) {
    if (allSynced != synced) {
      synced = allSynced;
      syncedChanged = true;
    }
  }

  /** Builds the next snapshot, or returns null when nothing changed since the last one. */
  Published publish() {
    rebuildDirtySlices();
    if (changes.isEmpty() && !rejectionsChanged && !syncedChanged) {
      return null;
    }
    rejectionsChanged = false;
    syncedChanged = false;
    version++;
    MeshState state =
        new MeshState(version, synced, services, endpoints, configs, attachments, rejections);
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
    // A relist, or a write of the object's status (Weft's own among them), changes nothing.
    // A Secret's resource keeps no data: its credential says whether it changed.
    if (old == null
        || !sameDesiredState(old.resource(), config.resource())
        || !old.gateway().equals(config.gateway())) {
      configs = configs.plus(config.key(), config);
      changes.config(config.key());
      if (old != null) {
        detach(old);
      }
      for (ServiceKey service : Attachment.servicesOf(config)) {
        attachments =
            attachments.plus(
                service, attachments.getOrDefault(service, ServiceAttachments.NONE).with(config));
        attachmentChanged(service);
      }
    }
  }

  /**
   * Whether two versions of a config ask for the same thing: the same spec, labels and creation
   * time (which decides precedence). Status and bookkeeping metadata do not count.
   */
  private static boolean sameDesiredState(HasMetadata a, HasMetadata b) {
    return Objects.equals(specOf(a), specOf(b))
        && Objects.equals(a.getMetadata().getLabels(), b.getMetadata().getLabels())
        && Objects.equals(
            a.getMetadata().getCreationTimestamp(), b.getMetadata().getCreationTimestamp());
  }

  private static Object specOf(HasMetadata resource) {
    if (resource instanceof HTTPRoute route) {
      return route.getSpec();
    } else if (resource instanceof GRPCRoute route) {
      return route.getSpec();
    } else if (resource instanceof Gateway gateway) {
      return gateway.getSpec();
    } else if (resource instanceof GatewayClass gatewayClass) {
      return gatewayClass.getSpec();
    } else if (resource instanceof Secret secret) {
      return secret.getType();
    } else if (resource instanceof CustomResource<?, ?> custom) {
      return custom.getSpec();
    }
    return resource;
  }

  /**
   * What is attached to {@code service} changed: the Service counts as changed, or, for what is
   * attached to a whole namespace, every Service of it does.
   */
  private void attachmentChanged(ServiceKey service) {
    changes.service(service);
    if (service.isNamespaceWide()) {
      for (ServiceKey each : services.keySet()) {
        if (each.namespace().equals(service.namespace())) {
          changes.service(each);
        }
      }
    }
  }

  /**
   * Removes a config from the Services it was attached to. Each of them counts as changed: what
   * proxies receive for a Service depends on what is attached to it.
   */
  private void detach(MeshConfig config) {
    for (ServiceKey service : Attachment.servicesOf(config)) {
      ServiceAttachments current = attachments.get(service);
      if (current != null) {
        ServiceAttachments next = current.without(config.key());
        attachments = next.isEmpty() ? attachments.minus(service) : attachments.plus(service, next);
        attachmentChanged(service);
      }
    }
  }

  private void putSlice(DecodedSlice decoded) {
    StoredSlice old = slices.get(decoded.key());
    StoredSlice stored;
    if (old == null) {
      stored = new StoredSlice(decoded, resolvePods(decoded), null);
      indexPods(decoded);
    } else {
      DecodedSlice slice = shareUnchanged(old.slice, decoded);
      if (!old.slice.service().equals(slice.service())) {
        removeSliceEndpoints(old.slice);
      }
      // An address or condition change keeps the same Pods: keep their index and resolution.
      if (samePods(old.slice, slice)) {
        stored = new StoredSlice(slice, old.pods, old.expanded);
      } else {
        unindexPods(old.slice);
        indexPods(slice);
        stored = new StoredSlice(slice, resolvePods(slice), old.expanded);
      }
    }
    slices.put(decoded.key(), stored);
    dirtySlices.add(decoded.key());
  }

  /**
   * Returns {@code next} with the endpoints that did not change replaced by the previous version's
   * instances. A change usually touches one endpoint of a slice; sharing the rest means only what
   * changed is new, which keeps what the garbage collector must copy small.
   */
  private static DecodedSlice shareUnchanged(DecodedSlice previous, DecodedSlice next) {
    List<SliceEndpoint> before = previous.endpoints();
    List<SliceEndpoint> after = next.endpoints();
    SliceEndpoint[] shared = new SliceEndpoint[after.size()];
    for (int i = 0; i < shared.length; i++) {
      SliceEndpoint endpoint = after.get(i);
      shared[i] = i < before.size() && before.get(i).equals(endpoint) ? before.get(i) : endpoint;
    }
    List<SlicePort> ports = previous.ports().equals(next.ports()) ? previous.ports() : next.ports();
    return new DecodedSlice(next.key(), next.service(), ports, List.of(shared));
  }

  /** Looks up each endpoint's Pod; null where the endpoint has none or it is not known yet. */
  private PodInfo[] resolvePods(DecodedSlice slice) {
    List<SliceEndpoint> endpoints = slice.endpoints();
    PodInfo[] resolved = new PodInfo[endpoints.size()];
    for (int i = 0; i < resolved.length; i++) {
      ObjectKey pod = endpoints.get(i).pod();
      resolved[i] = pod == null ? null : pods.get(pod);
    }
    return resolved;
  }

  /** Re-resolves the slices that reference a Pod that changed, and marks them for a rebuild. */
  private void podChanged(ObjectKey pod) {
    for (ObjectKey sliceKey : slicesByPod.getOrDefault(pod, Set.of())) {
      StoredSlice stored = slices.get(sliceKey);
      slices.put(
          sliceKey, new StoredSlice(stored.slice, resolvePods(stored.slice), stored.expanded));
      dirtySlices.add(sliceKey);
    }
  }

  /**
   * A slice as the writer keeps it: decoded, with the Pod of each endpoint resolved (index-aligned
   * with its endpoints) so that a rebuild needs no lookups, and its last expansion into endpoints
   * (in expansion order, or null before the first) so that a rebuild reuses the endpoints that did
   * not change. Never shared outside the writer.
   */
  private static final class StoredSlice {
    final DecodedSlice slice;
    final PodInfo[] pods;
    Endpoint[] expanded;

    StoredSlice(DecodedSlice slice, PodInfo[] pods, Endpoint[] expanded) {
      this.slice = slice;
      this.pods = pods;
      this.expanded = expanded;
    }
  }

  private static boolean samePods(DecodedSlice a, DecodedSlice b) {
    List<SliceEndpoint> left = a.endpoints();
    List<SliceEndpoint> right = b.endpoints();
    if (left.size() != right.size()) {
      return false;
    }
    for (int i = 0; i < left.size(); i++) {
      if (!left.get(i).samePod(right.get(i))) {
        return false;
      }
    }
    return true;
  }

  private void putPod(PodInfo pod) {
    PodInfo old = pods.put(pod.key(), pod);
    if (!pod.equals(old)) {
      podChanged(pod.key());
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
        StoredSlice old = slices.remove(key);
        if (old != null) {
          unindexPods(old.slice);
          removeSliceEndpoints(old.slice);
          dirtySlices.remove(key);
        }
      }
      case POD -> {
        if (pods.remove(key) != null) {
          podChanged(key);
        }
      }
      case HTTP_ROUTE,
          GRPC_ROUTE,
          TRAFFIC_POLICY,
          FAULT_POLICY,
          AUTHORIZATION_POLICY,
          MESH_TLS_POLICY,
          RATE_LIMIT_POLICY,
          TELEMETRY,
          GATEWAY,
          GATEWAY_CLASS,
          SECRET -> {
        MeshConfig old = configs.get(key);
        if (old != null) {
          configs = configs.minus(key);
          changes.config(key);
          detach(old);
        }
      }
    }
  }

  private void reject(Rejection rejection) {
    RejectionKey key = new RejectionKey(rejection.origin(), rejection.object());
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

  private void clearRejection(String origin, ObjectKey object) {
    if (rejections.isEmpty()) {
      return; // the common case: spare the key's string
    }
    RejectionKey key = new RejectionKey(origin, object.toString());
    if (rejections.containsKey(key)) {
      log.info("{}: {} is accepted again", origin, object);
      rejections = rejections.minus(key);
      rejectionsChanged = true;
    }
  }

  private void clearOrigin(String origin) {
    List<RejectionKey> stale = new ArrayList<>();
    for (Map.Entry<RejectionKey, Rejection> entry : rejections.entrySet()) {
      if (entry.getValue().origin().equals(origin)) {
        stale.add(entry.getKey());
      }
    }
    if (!stale.isEmpty()) {
      rejections = rejections.minusAll(stale);
      rejectionsChanged = true;
    }
  }

  /** Rejections are replaced and cleared per origin and object. */
  record RejectionKey(String origin, String object) {}

  private void indexPods(DecodedSlice slice) {
    for (SliceEndpoint endpoint : slice.endpoints()) {
      ObjectKey pod = endpoint.pod();
      if (pod != null) {
        slicesByPod.computeIfAbsent(pod, k -> new HashSet<>(2)).add(slice.key());
      }
    }
  }

  private void unindexPods(DecodedSlice slice) {
    for (SliceEndpoint endpoint : slice.endpoints()) {
      ObjectKey pod = endpoint.pod();
      if (pod != null) {
        Set<ObjectKey> referencing = slicesByPod.get(pod);
        if (referencing != null && referencing.remove(slice.key()) && referencing.isEmpty()) {
          slicesByPod.remove(pod);
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
      StoredSlice stored = slices.get(key);
      if (stored == null) {
        continue;
      }
      DecodedSlice slice = stored.slice;
      List<Endpoint> built = expand(stored);
      ServiceEndpoints current = endpoints.getOrDefault(slice.service(), ServiceEndpoints.EMPTY);
      if (current.containsSlice(key.name()) && built.equals(current.slice(key.name()))) {
        continue;
      }
      endpoints = endpoints.plus(slice.service(), current.withSlice(key.name(), built));
      changes.endpoints(slice.service());
    }
    dirtySlices.clear();
  }

  /**
   * Joins a slice's endpoints with their ports and their Pods' identity and labels; returns them
   * immutable and in {@link ServiceEndpoints#ORDER}.
   */
  private List<Endpoint> expand(StoredSlice stored) {
    DecodedSlice slice = stored.slice;
    Endpoint[] previous = stored.expanded;
    Endpoint[] built = new Endpoint[slice.endpoints().size() * slice.ports().size()];
    int index = 0;
    for (int i = 0; i < slice.endpoints().size(); i++) {
      SliceEndpoint endpoint = slice.endpoints().get(i);
      PodInfo pod = stored.pods[i];
      String podName = endpoint.podName() == null ? "" : endpoint.podName();
      String serviceAccount = pod == null ? "" : pod.serviceAccount();
      Map<String, String> labels = pod == null ? Map.of() : pod.labels();
      for (SlicePort port : slice.ports()) {
        Endpoint before = previous != null && index < previous.length ? previous[index] : null;
        // Reuse the previous instance when nothing changed: only what changed is new.
        built[index] =
            before != null
                    && before.address().equals(endpoint.address())
                    && before.port() == port.port()
                    && before.portName().equals(port.name())
                    && before.conditions().equals(endpoint.conditions())
                    && before.zone().equals(endpoint.zone())
                    && before.node().equals(endpoint.node())
                    && before.pod().equals(podName)
                    && before.serviceAccount().equals(serviceAccount)
                    && before.labels().equals(labels)
                ? before
                : new Endpoint(
                    endpoint.address(),
                    port.port(),
                    port.name(),
                    endpoint.conditions(),
                    endpoint.zone(),
                    endpoint.node(),
                    podName,
                    serviceAccount,
                    labels);
        index++;
      }
    }
    stored.expanded = built;
    Endpoint[] sorted = built.clone();
    Arrays.sort(sorted, ServiceEndpoints.ORDER);
    return List.of(sorted);
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
