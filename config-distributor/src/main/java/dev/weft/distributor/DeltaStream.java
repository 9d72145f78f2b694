package dev.weft.distributor;

import com.google.common.base.Utf8;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One incremental ADS stream (xDS {@code DeltaAggregatedResources}).
 *
 * <p>Per type, the stream knows which version of each resource the proxy holds: from the {@code
 * initial_resource_versions} of a reconnecting proxy, then from what it was sent. It sends only
 * resources whose version differs, and names that no longer exist (or never did) in {@code
 * removed_resources}, once. A rejected version is not sent again; the proxy keeps its last good
 * one.
 *
 * <p>Thread-safety: see {@link AdsStream}; everything runs on the stream's executor.
 */
final class DeltaStream extends AdsStream implements StreamObserver<DeltaDiscoveryRequest> {

  private static final Logger log = LoggerFactory.getLogger(DeltaStream.class);

  private final Map<ResourceType, TypeState> types = new EnumMap<>(ResourceType.class);
  private long nonces;

  /**
   * The state of one resource type on this stream, in arrays parallel to the sorted names the proxy
   * may hold: a few bytes per name, where maps per name cost a few hundred (the request's own name
   * strings, tree and hash entries), which made delta streams five times the heap of
   * state-of-the-world ones.
   */
  private static final class TypeState extends AdsStream.TypeState {
    /**
     * The names the proxy may hold, sorted by name, each once: those it subscribed to, and, under a
     * wildcard, every resource of the type that exists (as of the last whole push).
     */
    ResourceRef[] names = NO_REFS;

    /**
     * What the proxy holds of {@code names[i]}; null for nothing. Never modified once it has been
     * sent ({@link InFlight.Sent#holds()} keeps it): a push that changes it writes a copy.
     */
    Resource[] holds = NO_RESOURCES;

    /** {@code names[i]} was subscribed to by name, not only through the wildcard. */
    BitSet explicit = new BitSet();

    /** The proxy has been told {@code names[i]} does not exist. */
    BitSet toldAbsent = new BitSet();

    /** A change touched {@code names[i]} since the last push: only these are resolved again. */
    final BitSet pending = new BitSet();

    /**
     * The versions a reconnecting proxy says it holds ({@code initial_resource_versions}), by name,
     * until the first push compares them; null when there are none.
     */
    Map<String, String> declared;

    /** The index of {@code name} in {@link #names}, or a negative insertion point. */
    int indexOf(String name) {
      int low = 0;
      int high = names.length - 1;
      while (low <= high) {
        int middle = (low + high) >>> 1;
        int order = names[middle].name().compareTo(name);
        if (order < 0) {
          low = middle + 1;
        } else if (order > 0) {
          high = middle - 1;
        } else {
          return middle;
        }
      }
      return -(low + 1);
    }

    /** The run of {@link #names} that start with {@code prefix}: [from, to). */
    private int[] run(String prefix) {
      int from = indexOf(prefix);
      from = from < 0 ? -from - 1 : from;
      int to = from;
      while (to < names.length && names[to].name().startsWith(prefix)) {
        to++;
      }
      return new int[] {from, to};
    }

    @Override
    void markServerListeners() {
      int[] run = run(ResourceNames.SERVER_LISTENER_PREFIX);
      for (int i = run[0]; i < run[1]; i++) {
        if (names[i].isServerListener()) {
          pending.set(i);
          dirty = true;
        }
      }
    }

    /** The run of names is a range of the sorted {@link #names}. */
    @Override
    void markTouched(ServiceKey service) {
      int[] run = run(namePrefix(service));
      for (int i = run[0]; i < run[1]; i++) {
        if (service.equals(names[i].service())) {
          pending.set(i);
          dirty = true;
        }
      }
    }

    /**
     * Replaces {@link #names} with {@code next} (sorted, distinct), carrying over what is known of
     * each name that stays; {@code subscribed} says which of them the proxy named. What the proxy
     * held of a name that goes is added to {@code gone}, when given.
     */
    void rename(List<ResourceRef> next, Set<String> subscribed, List<String> gone) {
      ResourceRef[] refs = next.toArray(NO_REFS);
      Resource[] held = new Resource[refs.length];
      BitSet named = new BitSet(refs.length);
      BitSet absent = new BitSet(refs.length);
      int old = 0;
      for (int i = 0; i < refs.length; i++) {
        String name = refs[i].name();
        while (old < names.length && names[old].name().compareTo(name) < 0) {
          if (gone != null && holds[old] != null) {
            gone.add(names[old].name());
          }
          old++;
        }
        if (old < names.length && names[old].name().equals(name)) {
          held[i] = holds[old];
          absent.set(i, toldAbsent.get(old));
          old++;
        }
        named.set(i, subscribed.contains(name));
      }
      for (; old < names.length; old++) {
        if (gone != null && holds[old] != null) {
          gone.add(names[old].name());
        }
      }
      names = refs;
      holds = held;
      explicit = named;
      toldAbsent = absent;
      pending.clear();
    }

    /** The names subscribed to by name, in order. */
    List<String> explicitNames() {
      List<String> result = new ArrayList<>(explicit.cardinality());
      for (int i = explicit.nextSetBit(0); i >= 0; i = explicit.nextSetBit(i + 1)) {
        result.add(names[i].name());
      }
      return result;
    }
  }

  private static final ResourceRef[] NO_REFS = new ResourceRef[0];
  private static final Resource[] NO_RESOURCES = new Resource[0];

  DeltaStream(
      AdsContext context,
      ServerCallStreamObserver<DeltaDiscoveryResponse> responses,
      String peer,
      AuthenticatedPeers.Identity authenticated) {
    super(context, responses, peer, authenticated);
  }

  @Override
  String protocol() {
    return "delta";
  }

  @Override
  public void onNext(DeltaDiscoveryRequest request) {
    receive(() -> handle(request));
  }

  @Override
  public void onError(Throwable error) {
    executor.execute(this::close);
  }

  @Override
  public void onCompleted() {
    executor.execute(this::completed);
  }

  private void handle(DeltaDiscoveryRequest request) {
    if (closed) {
      return;
    }
    if (!identify(request.getNode())) {
      return;
    }
    int names =
        request.getResourceNamesSubscribeCount()
            + request.getResourceNamesUnsubscribeCount()
            + request.getInitialResourceVersionsCount();
    if (!withinLimits(names, longestName(request))) {
      return;
    }
    ResourceType type = ResourceType.ofTypeUrl(request.getTypeUrl()).orElse(null);
    if (type == null) {
      log.debug("stream {} asked for unserved type {}", id(), request.getTypeUrl());
      return;
    }
    boolean first = !types.containsKey(type);
    TypeState state = types.computeIfAbsent(type, t -> new TypeState());
    InFlight.Sent answered =
        request.getResponseNonce().isEmpty()
            ? null
            : state.inFlight.answer(request.getResponseNonce());
    if (answered != null && request.hasErrorDetail()) {
      rejected(type, state, answered, request.getErrorDetail().getMessage());
    } else if (answered != null) {
      state.ackedVersion = answered.version();
      state.ackedAt = context.clock().instant();
      state.rejectedSinceNanos = NOT_BEHIND;
      setHeld(type, answered.holds());
      context.metrics().acked(type, answered);
    }
    if (first && request.getInitialResourceVersionsCount() > 0) {
      state.declared = new HashMap<>(request.getInitialResourceVersionsMap());
    }
    Set<String> subscribe = new HashSet<>();
    boolean changed = false;
    for (String name : request.getResourceNamesSubscribeList()) {
      if (name.equals("*")) {
        changed |= !state.wildcard;
        state.wildcard = true;
      } else {
        int index = state.indexOf(name);
        if (index < 0 || !state.explicit.get(index)) {
          subscribe.add(name);
        }
      }
    }
    if (first && request.getResourceNamesSubscribeCount() == 0 && type.fullStateOfTheWorld()) {
      state.wildcard = true; // the legacy wildcard: a first request that names nothing
      changed = true;
    }
    Set<String> unsubscribe = new HashSet<>();
    for (String name : request.getResourceNamesUnsubscribeList()) {
      if (name.equals("*")) {
        state.wildcard = false;
        changed = true;
      } else {
        unsubscribe.add(name);
        subscribe.remove(name);
        if (state.declared != null) {
          state.declared.remove(name);
        }
      }
    }
    if (!subscribe.isEmpty() || !unsubscribe.isEmpty()) {
      // The proxy drops what it unsubscribed from; nothing to tell it. A name it still may hold
      // through the wildcard comes back, and is sent again, at the next push.
      Map<String, ResourceRef> next = new TreeMap<>();
      Set<String> named = new HashSet<>();
      for (int i = 0; i < state.names.length; i++) {
        String name = state.names[i].name();
        if (!unsubscribe.contains(name)) {
          next.put(name, state.names[i]);
          if (state.explicit.get(i)) {
            named.add(name);
          }
        }
      }
      for (String name : subscribe) {
        ResourceRef ref = ref(type, name);
        next.put(ref.name(), ref);
        named.add(ref.name());
      }
      state.rename(new ArrayList<>(next.values()), named, null);
      changed = true;
    }
    int subscribed = 0;
    for (TypeState each : types.values()) {
      subscribed += each.explicit.cardinality();
    }
    if (!withinStreamLimit(subscribed)) {
      return;
    }
    if (changed || first) {
      state.subscribedNanos = context.nanoClock().getAsLong();
      state.dirty = true;
      state.stale = true;
      List<ResourceRef> all = new ArrayList<>();
      boolean anyWildcard = false;
      for (TypeState each : types.values()) {
        for (int i = each.explicit.nextSetBit(0); i >= 0; i = each.explicit.nextSetBit(i + 1)) {
          all.add(each.names[i]);
        }
        anyWildcard |= each.wildcard;
      }
      watch(all, anyWildcard);
    }
    catchUp();
    flush();
  }

  /** The length of the request's longest resource name, in bytes of UTF-8. */
  private static int longestName(DeltaDiscoveryRequest request) {
    int longest = 0;
    for (String name : request.getResourceNamesSubscribeList()) {
      longest = Math.max(longest, Utf8.encodedLength(name));
    }
    for (String name : request.getResourceNamesUnsubscribeList()) {
      longest = Math.max(longest, Utf8.encodedLength(name));
    }
    for (String name : request.getInitialResourceVersionsMap().keySet()) {
      longest = Math.max(longest, Utf8.encodedLength(name));
    }
    return longest;
  }

  @Override
  TypeState typeState(ResourceType type) {
    return types.get(type);
  }

  @Override
  void push(ResourceType type) {
    push(type, types.get(type));
  }

  private void push(ResourceType type, TypeState state) {
    long start = context.nanoClock().getAsLong();
    state.dirty = false;
    List<String> removed = new ArrayList<>();
    BitSet wanted;
    if (state.wildcard && state.stale) {
      // What exists now, with what the proxy named: a resource held through the wildcard alone
      // that is gone is removed.
      Map<String, ResourceRef> next = new TreeMap<>();
      for (ResourceRef ref : wildcardRefs(type)) {
        next.put(ref.name(), ref);
      }
      Set<String> named = new HashSet<>(state.explicitNames());
      for (int i = state.explicit.nextSetBit(0); i >= 0; i = state.explicit.nextSetBit(i + 1)) {
        next.putIfAbsent(state.names[i].name(), state.names[i]);
      }
      state.rename(new ArrayList<>(next.values()), named, removed);
      if (state.declared != null) {
        for (String name : state.declared.keySet()) {
          if (!next.containsKey(name)) {
            removed.add(name);
          }
        }
      }
    }
    boolean whole = state.stale;
    if (whole) {
      wanted = new BitSet(state.names.length);
      wanted.set(0, state.names.length);
    } else {
      wanted = (BitSet) state.pending.clone();
    }
    state.stale = false;
    state.pending.clear();
    List<Resource> updates = new ArrayList<>();
    Resource[] holds = null; // the copy this push writes, made at its first change
    for (int i = wanted.nextSetBit(0); i >= 0; i = wanted.nextSetBit(i + 1)) {
      ResourceRef ref = state.names[i];
      String name = ref.name();
      Resource resource = resolve(ref);
      Resource holding = state.holds[i];
      String declared = state.declared == null ? null : state.declared.remove(name);
      if (resource == null) {
        if (holding != null || declared != null) {
          removed.add(name);
          holds = holds != null ? holds : state.holds.clone();
          holds[i] = null;
        } else if (state.explicit.get(i) && !state.toldAbsent.get(i)) {
          removed.add(name);
          state.toldAbsent.set(i);
        }
        continue;
      }
      state.toldAbsent.clear(i);
      String holdingVersion = holding != null ? holding.version() : declared;
      if (!resource.version().equals(holdingVersion)) {
        updates.add(resource);
      }
      if (holding == null || !holding.version().equals(resource.version())) {
        holds = holds != null ? holds : state.holds.clone();
        holds[i] = resource;
      }
    }
    if (whole) {
      // Every name the proxy may hold was compared; a version it declared for another name, it
      // was told to remove (under a wildcard) or it does not subscribe to.
      state.declared = null;
    }
    if (holds != null) {
      state.holds = holds;
    }
    if (updates.isEmpty() && removed.isEmpty()) {
      return;
    }
    String nonce = Long.toString(++nonces);
    String versionInfo = context.generation() + "-" + version.sequence();
    DeltaDiscoveryResponse.Builder response =
        DeltaDiscoveryResponse.newBuilder()
            .setSystemVersionInfo(versionInfo)
            .setTypeUrl(type.typeUrl())
            .setNonce(nonce)
            .setControlPlane(SotwStream.CONTROL_PLANE)
            .addAllRemovedResources(removed);
    for (Resource resource : updates) {
      response.addResources(
          io.envoyproxy.envoy.service.discovery.v3.Resource.newBuilder()
              .setName(resource.name())
              .setVersion(resource.version())
              .setResource(resource.body()));
    }
    sent(response.build());
    state.inFlight.add(
        InFlight.Sent.of(
            nonce, versionInfo, version.publishedNanos(), state.subscribedNanos, state.holds));
    context.metrics().pushed(type, context.nanoClock().getAsLong() - start);
  }

  private void rejected(ResourceType type, TypeState state, InFlight.Sent sent, String detail) {
    state.lastNack = new ProxyStatus.Nack(sent.version(), detail, context.clock().instant());
    state.rejectedSinceNanos = Math.min(state.rejectedSinceNanos, sent.sinceNanos());
    context.metrics().nacked(type);
    log.warn(
        "proxy {} rejected {} version {}: {}; it keeps its last good version",
        nodeId(),
        type.typeUrl(),
        sent.version(),
        detail);
  }

  @Override
  Map<String, ProxyStatus.TypeStatus> typeStatuses() {
    Map<String, ProxyStatus.TypeStatus> result = new LinkedHashMap<>();
    for (Map.Entry<ResourceType, TypeState> entry : types.entrySet()) {
      TypeState state = entry.getValue();
      List<String> subscribed = new ArrayList<>();
      if (state.wildcard) {
        subscribed.add("*");
      }
      subscribed.addAll(state.explicitNames());
      List<String> held = new ArrayList<>();
      for (int i = 0; i < state.names.length; i++) {
        if (state.holds[i] != null) {
          held.add(state.names[i].name());
        }
      }
      InFlight.Sent pending = state.inFlight.newest();
      InFlight.Sent oldest = state.inFlight.oldest();
      result.put(
          entry.getKey().typeUrl(),
          new ProxyStatus.TypeStatus(
              subscribed,
              state.ackedVersion,
              state.ackedAt,
              pending == null ? "" : pending.version(),
              oldest == null ? null : instantOf(oldest.sinceNanos()),
              held,
              state.lastNack));
    }
    return result;
  }
}
