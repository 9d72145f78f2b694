package dev.weft.distributor;

import com.google.common.base.Utf8;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
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

  /** The state of one resource type on this stream. */
  private static final class TypeState extends AdsStream.TypeState {
    final NavigableMap<String, ResourceRef> subscribed = new TreeMap<>();

    /** What the proxy holds, by name: the resources sent (or declared held on reconnect). */
    final Map<String, Resource> holds = new HashMap<>();

    final Map<String, String> declared = new HashMap<>();

    /** Names the proxy has been told do not exist. */
    final Set<String> toldAbsent = new HashSet<>();

    /** Names a change touched since the last push: only these are resolved again. */
    final Set<String> pending = new HashSet<>();

    @Override
    void markServerListeners() {
      String prefix = ResourceNames.SERVER_LISTENER_PREFIX;
      for (ResourceRef ref :
          subscribed.subMap(prefix, true, prefix + Character.MAX_VALUE, false).values()) {
        if (ref.isServerListener()) {
          pending.add(ref.name());
          dirty = true;
        }
      }
    }

    /** The run of names is a range of the sorted {@link #subscribed}. */
    @Override
    void markTouched(ServiceKey service) {
      String prefix = namePrefix(service);
      for (ResourceRef ref :
          subscribed.subMap(prefix, true, prefix + Character.MAX_VALUE, false).values()) {
        if (service.equals(ref.service())) {
          pending.add(ref.name());
          dirty = true;
        }
      }
    }
  }

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
    if (first) {
      state.declared.putAll(request.getInitialResourceVersionsMap());
    }
    boolean changed = false;
    for (String name : request.getResourceNamesSubscribeList()) {
      if (name.equals("*")) {
        changed |= !state.wildcard;
        state.wildcard = true;
      } else if (!state.subscribed.containsKey(name)) {
        state.subscribed.put(name, ref(type, name));
        state.toldAbsent.remove(name);
        changed = true;
      }
    }
    if (first && request.getResourceNamesSubscribeCount() == 0 && type.fullStateOfTheWorld()) {
      state.wildcard = true; // the legacy wildcard: a first request that names nothing
      changed = true;
    }
    for (String name : request.getResourceNamesUnsubscribeList()) {
      if (name.equals("*")) {
        state.wildcard = false;
      } else {
        state.subscribed.remove(name);
      }
      // The proxy drops what it unsubscribed from; nothing to tell it.
      state.holds.remove(name);
      state.declared.remove(name);
      state.toldAbsent.remove(name);
      changed = true;
    }
    int subscribed = 0;
    for (TypeState each : types.values()) {
      subscribed += each.subscribed.size();
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
        all.addAll(each.subscribed.values());
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
    boolean whole = state.stale || state.wildcard;
    Map<String, ResourceRef> wanted;
    if (whole) {
      wanted = new LinkedHashMap<>(state.subscribed);
      if (state.wildcard) {
        for (ResourceRef ref : wildcardRefs(type)) {
          wanted.putIfAbsent(ref.name(), ref);
        }
      }
    } else {
      // Only what a change touched: the rest is as the proxy holds it.
      wanted = new LinkedHashMap<>();
      for (String name : state.pending) {
        ResourceRef ref = state.subscribed.get(name);
        if (ref != null) {
          wanted.put(name, ref);
        }
      }
    }
    state.stale = false;
    state.pending.clear();
    List<Resource> updates = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    for (ResourceRef ref : wanted.values()) {
      String name = ref.name();
      Resource resource = resolve(ref);
      if (resource == null) {
        boolean held = state.holds.remove(name) != null || state.declared.remove(name) != null;
        if (held || (state.subscribed.containsKey(name) && state.toldAbsent.add(name))) {
          removed.add(name);
        }
        continue;
      }
      Resource holding = state.holds.get(name);
      String holdingVersion = holding != null ? holding.version() : state.declared.get(name);
      state.toldAbsent.remove(name);
      if (!resource.version().equals(holdingVersion)) {
        updates.add(resource);
      }
      state.holds.put(name, resource);
      state.declared.remove(name);
    }
    if (state.wildcard) {
      // Held through the wildcard alone and gone now.
      Set<String> held = new HashSet<>(state.holds.keySet());
      held.addAll(state.declared.keySet());
      for (String name : held) {
        if (!wanted.containsKey(name)) {
          state.holds.remove(name);
          state.declared.remove(name);
          removed.add(name);
        }
      }
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
            nonce,
            versionInfo,
            version.publishedNanos(),
            state.subscribedNanos,
            state.holds.values().toArray(new Resource[0])));
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
      subscribed.addAll(state.subscribed.keySet());
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
              new TreeMap<>(state.holds).keySet().stream().toList(),
              state.lastNack));
    }
    return result;
  }
}
