package dev.weft.distributor;

import dev.weft.registry.ChangeSet;
import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One state-of-the-world ADS stream (xDS {@code StreamAggregatedResources}).
 *
 * <p>Per type: the names subscribed (or all, for a wildcard), the last response sent (version and
 * nonce) and the last one acknowledged. A response is sent when the proxy asks (always answered,
 * even when nothing it asked for exists, so no client waits on a missing name) or when a change
 * alters what it subscribed to. A change that leaves the response's content as it was sends
 * nothing; a rejected version is never sent again, and the proxy keeps its last good one.
 *
 * <p>Thread-safety: see {@link AdsStream}; everything runs on the stream's executor.
 */
final class SotwStream extends AdsStream implements StreamObserver<DiscoveryRequest> {

  private static final Logger log = LoggerFactory.getLogger(SotwStream.class);
  static final ControlPlane CONTROL_PLANE = ControlPlane.newBuilder().setIdentifier("weft").build();

  private final Map<ResourceType, TypeState> types = new EnumMap<>(ResourceType.class);
  private long nonces;

  /** The state of one resource type on this stream. */
  private static final class TypeState {
    boolean wildcard;
    List<ResourceRef> refs = List.of();

    /** Something may have changed: push if the content differs from what was sent. */
    boolean dirty;

    /** The proxy asked: answer even if the content is what it has. */
    boolean asked;

    String clientVersion = "";
    String sentVersion = "";
    String sentNonce = "";

    /** The version of each resource last sent, for the types whose responses may be partial. */
    Map<String, String> sentVersions = Map.of();

    final InFlight inFlight = new InFlight();
    String ackedVersion = "";
    ProxyStatus.Nack lastNack;
  }

  SotwStream(
      AdsContext context, ServerCallStreamObserver<DiscoveryResponse> responses, String peer) {
    super(context, responses, peer);
  }

  @Override
  String protocol() {
    return "sotw";
  }

  @Override
  public void onNext(DiscoveryRequest request) {
    executor.execute(() -> handle(request));
  }

  @Override
  public void onError(Throwable error) {
    executor.execute(this::close);
  }

  @Override
  public void onCompleted() {
    executor.execute(this::completed);
  }

  private void handle(DiscoveryRequest request) {
    if (closed) {
      return;
    }
    identify(request.getNode());
    ResourceType type = ResourceType.ofTypeUrl(request.getTypeUrl()).orElse(null);
    if (type == null) {
      answerUnknownType(request);
      return;
    }
    TypeState state = types.computeIfAbsent(type, t -> new TypeState());
    String nonce = request.getResponseNonce();
    if (!nonce.isEmpty()) {
      InFlight.Sent answered = state.inFlight.answer(nonce);
      if (answered != null && request.hasErrorDetail()) {
        rejected(type, state, answered, request);
      } else if (answered != null) {
        acknowledged(type, state, answered);
      }
      if (!nonce.equals(state.sentNonce)) {
        publishStatus();
        return; // its names are out of date: the reply to the newest response will follow
      }
    } else if (!request.getVersionInfo().isEmpty() && state.sentVersion.isEmpty()) {
      // A proxy that reconnects says what it holds: skip the push when that is current.
      state.clientVersion = request.getVersionInfo();
    }
    subscribe(type, state, request.getResourceNamesList(), nonce.isEmpty());
    catchUp();
    flush();
    publishStatus();
  }

  private void subscribe(ResourceType type, TypeState state, List<String> names, boolean initial) {
    boolean wildcard =
        names.contains("*") || (names.isEmpty() && initial && type.fullStateOfTheWorld());
    Map<String, ResourceRef> refs = new TreeMap<>();
    for (String name : names) {
      if (!name.equals("*")) {
        refs.computeIfAbsent(name, n -> ResourceRef.parse(type, n, context.cache().names()));
      }
    }
    List<ResourceRef> next = List.copyOf(refs.values());
    if (initial || wildcard != state.wildcard || !next.equals(state.refs)) {
      state.wildcard = wildcard;
      state.refs = next;
      state.asked = true;
      state.dirty = true;
      List<ResourceRef> all = new ArrayList<>();
      boolean anyWildcard = false;
      for (TypeState each : types.values()) {
        all.addAll(each.refs);
        anyWildcard |= each.wildcard;
      }
      watch(all, anyWildcard);
    }
  }

  /** Takes a version published while this stream was not yet watching what it now asks for. */
  private void catchUp() {
    ConfigVersion latest = context.pipeline().current();
    if (latest != null && (version == null || latest.sequence() > version.sequence())) {
      version = latest;
      types.values().forEach(state -> state.dirty = true);
    }
  }

  @Override
  void onConfig(ChangeSet changes) {
    for (Map.Entry<ResourceType, TypeState> entry : types.entrySet()) {
      TypeState state = entry.getValue();
      if (changes == null || state.wildcard || touches(entry.getKey(), state, changes)) {
        state.dirty = true;
      }
    }
  }

  private static boolean touches(ResourceType type, TypeState state, ChangeSet changes) {
    for (ResourceRef ref : state.refs) {
      if (ref.service() != null
          && (changes.services().contains(ref.service())
              || (type == ResourceType.ENDPOINT && changes.endpoints().contains(ref.service())))) {
        return true;
      }
    }
    return false;
  }

  @Override
  void flush() {
    for (ResourceType type : ResourceType.values()) {
      TypeState state = types.get(type);
      if (state != null && state.dirty) {
        if (!ready()) {
          return; // the ready handler, or the first configuration, flushes again
        }
        push(type, state);
      }
    }
  }

  private void push(ResourceType type, TypeState state) {
    long start = System.nanoTime();
    state.dirty = false;
    List<ResourceRef> refs = state.wildcard ? wildcardRefs(type) : state.refs;
    List<Resource> resources = new ArrayList<>(refs.size());
    for (ResourceRef ref : refs) {
      Resource resource = resolve(ref);
      if (resource == null) {
        resource = context.cache().placeholder(ref);
      }
      if (resource != null) {
        resources.add(resource);
      }
    }
    String hash = contentHash(resources);
    String known = state.sentVersion.isEmpty() ? state.clientVersion : state.sentVersion;
    boolean same = hash.equals(hashOf(known));
    if (same && (!state.asked || state.sentVersion.isEmpty())) {
      // Nothing new: the proxy already holds (or, after a reconnect, still holds) this content.
      if (state.sentVersion.isEmpty()) {
        state.ackedVersion = state.clientVersion;
        setHeld(type, resources);
      }
      state.asked = false;
      return;
    }
    // Endpoints and routes need not be sent whole (a proxy keeps what a response leaves out), so
    // a change sends only the ones that changed; a request is answered with all it asked for.
    List<Resource> toSend = resources;
    if (!type.fullStateOfTheWorld() && !state.asked) {
      toSend = new ArrayList<>();
      for (Resource resource : resources) {
        if (!resource.version().equals(state.sentVersions.get(resource.name()))) {
          toSend.add(resource);
        }
      }
    }
    state.asked = false;
    if (toSend.isEmpty() && !type.fullStateOfTheWorld()) {
      return; // only removals, which a partial type cannot express: nothing to send
    }
    Map<String, String> versions = new HashMap<>();
    for (Resource resource : resources) {
      versions.put(resource.name(), resource.version());
    }
    state.sentVersions = versions;
    String versionInfo = context.generation() + "-" + hash;
    String nonce = Long.toString(++nonces);
    DiscoveryResponse.Builder response =
        DiscoveryResponse.newBuilder()
            .setVersionInfo(versionInfo)
            .setTypeUrl(type.typeUrl())
            .setNonce(nonce)
            .setControlPlane(CONTROL_PLANE);
    for (Resource resource : toSend) {
      response.addResources(resource.body());
    }
    sent(response.build());
    state.sentVersion = versionInfo;
    state.sentNonce = nonce;
    state.inFlight.add(
        new InFlight.Sent(nonce, versionInfo, version.publishedNanos(), List.copyOf(resources)));
    context.metrics().pushed(type, System.nanoTime() - start);
  }

  private void acknowledged(ResourceType type, TypeState state, InFlight.Sent sent) {
    state.ackedVersion = sent.version();
    setHeld(type, sent.resources());
    context.metrics().acked(type, System.nanoTime() - sent.publishedNanos());
  }

  private void rejected(
      ResourceType type, TypeState state, InFlight.Sent sent, DiscoveryRequest request) {
    String detail = request.getErrorDetail().getMessage();
    state.lastNack = new ProxyStatus.Nack(sent.version(), detail, context.clock().instant());
    context.metrics().nacked(type);
    log.warn(
        "proxy {} rejected {} version {}: {}; it keeps its last good version {}",
        status().nodeId(),
        type.typeUrl(),
        sent.version(),
        detail,
        request.getVersionInfo());
  }

  /** Answers a type Weft does not serve with an empty response, so the client does not wait. */
  private void answerUnknownType(DiscoveryRequest request) {
    if (!request.getResponseNonce().isEmpty() || !ready()) {
      return;
    }
    sent(
        DiscoveryResponse.newBuilder()
            .setTypeUrl(request.getTypeUrl())
            .setVersionInfo(context.generation() + "-none")
            .setNonce(Long.toString(++nonces))
            .setControlPlane(CONTROL_PLANE)
            .build());
  }

  private static String hashOf(String versionInfo) {
    int dash = versionInfo.lastIndexOf('-');
    return dash < 0 ? "" : versionInfo.substring(dash + 1);
  }

  @Override
  Map<String, ProxyStatus.TypeStatus> typeStatuses() {
    Map<String, ProxyStatus.TypeStatus> result = new LinkedHashMap<>();
    for (Map.Entry<ResourceType, TypeState> entry : types.entrySet()) {
      TypeState state = entry.getValue();
      List<String> held =
          held().getOrDefault(entry.getKey(), List.of()).stream().map(Resource::name).toList();
      result.put(
          entry.getKey().typeUrl(),
          new ProxyStatus.TypeStatus(
              state.wildcard ? List.of("*") : state.refs.stream().map(ResourceRef::name).toList(),
              state.ackedVersion,
              state.inFlight.newest() == null ? "" : state.inFlight.newest().version(),
              held,
              state.lastNack));
    }
    return result;
  }
}
