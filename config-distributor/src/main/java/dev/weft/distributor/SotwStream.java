package dev.weft.distributor;

import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>Every request repeats the names the proxy subscribes to, ACKs included; they are compared with
 * the previous request's in order, without parsing, and parsed only when they differ.
 *
 * <p>Thread-safety: see {@link AdsStream}; everything runs on the stream's executor.
 */
final class SotwStream extends AdsStream implements StreamObserver<SotwRequest> {

  private static final Logger log = LoggerFactory.getLogger(SotwStream.class);
  static final ControlPlane CONTROL_PLANE = ControlPlane.newBuilder().setIdentifier("weft").build();

  private final Map<ResourceType, TypeState> types = new EnumMap<>(ResourceType.class);
  private long nonces;

  /** The state of one resource type on this stream. */
  private static final class TypeState extends AdsStream.TypeState {

    /** The names of the last request: a request naming the same needs no decoding. */
    SotwRequest.Names requested;

    /** The same, distinct and sorted by name: the order of responses. */
    List<ResourceRef> refs = List.of();

    /**
     * What {@link #current} was resolved from, in its order: {@link #refs}, or, under a wildcard,
     * every resource of the type as of the last full resolution.
     */
    List<ResourceRef> resolved = List.of();

    /**
     * The resource each of {@link #refs} resolved to when last looked at (null: none). Copied on
     * write once sent: the response in flight and what the proxy holds share the array, so a proxy
     * that is up to date costs one array per type, not two.
     */
    Resource[] current = new Resource[0];

    /** Whether {@link #current} was sent: it must be copied before it changes. */
    boolean currentSent;

    /** The sum of the fingerprints of {@link #current}, and how many are there. */
    long fingerprints;

    int present;

    /** Indexes of {@link #resolved} a change touched since the last push. */
    final BitSet pending = new BitSet();

    /** The proxy asked: answer even if the content is what it has. */
    boolean asked;

    String sentVersion = "";
    String sentNonce = "";

    @Override
    void markServerListeners() {
      for (int i = firstWithPrefix(ResourceNames.SERVER_LISTENER_PREFIX);
          i < resolved.size() && resolved.get(i).isServerListener();
          i++) {
        pending.set(i);
        dirty = true;
      }
    }

    /** Binary search for the run of names, in the sorted {@link #resolved}. */
    @Override
    void markTouched(ServiceKey service) {
      String prefix = namePrefix(service);
      for (int i = firstWithPrefix(prefix);
          i < resolved.size() && resolved.get(i).name().startsWith(prefix);
          i++) {
        if (service.equals(resolved.get(i).service())) {
          pending.set(i);
          dirty = true;
        }
      }
    }

    /** The index of the first of {@link #resolved} not sorted before {@code prefix}. */
    private int firstWithPrefix(String prefix) {
      int low = 0;
      int high = resolved.size();
      while (low < high) {
        int middle = (low + high) >>> 1;
        if (resolved.get(middle).name().compareTo(prefix) < 0) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      return low;
    }
  }

  SotwStream(
      AdsContext context,
      ServerCallStreamObserver<DiscoveryResponse> responses,
      String peer,
      AuthenticatedPeers.Identity authenticated) {
    super(context, responses, peer, authenticated);
  }

  @Override
  String protocol() {
    return "sotw";
  }

  @Override
  public void onNext(SotwRequest request) {
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

  private void handle(SotwRequest request) {
    if (closed) {
      return;
    }
    if (request.node() != null && !identify(request.node())) {
      return;
    }
    if (!withinLimits(request.nameCount(), request.longestName())) {
      return;
    }
    ResourceType type = ResourceType.ofTypeUrl(request.typeUrl()).orElse(null);
    if (type == null) {
      answerUnknownType(request);
      return;
    }
    TypeState state = types.computeIfAbsent(type, t -> new TypeState());
    String nonce = request.responseNonce();
    if (!nonce.isEmpty()) {
      InFlight.Sent answered = state.inFlight.answer(nonce);
      if (answered != null && request.errorDetail() != null) {
        rejected(type, state, answered, request);
      } else if (answered != null) {
        acknowledged(type, state, answered);
      }
      if (!nonce.equals(state.sentNonce)) {
        updateBehind();
        return; // its names are out of date: the reply to the newest response will follow
      }
    }
    // A proxy's first request on a stream may carry the version_info it last accepted, but that
    // does not say it still holds those resources: grpc-js-xds, for one, ends its stream when its
    // last channel unsubscribes everything, drops what it held, and asks again on a new stream
    // with the old version. The xDS protocol lets a server skip such a request only if it knows
    // the proxy subscribes to nothing new, which a state-of-the-world request cannot tell; so it
    // is answered like any other (delta's initial_resource_versions can tell, per resource).
    if (!subscribe(type, state, request, nonce.isEmpty())) {
      return;
    }
    catchUp();
    flush();
  }

  /** Takes the request's names as the type's subscription; false if that ended the stream. */
  private boolean subscribe(
      ResourceType type, TypeState state, SotwRequest request, boolean initial) {
    SotwRequest.Names requestedNames = request.names();
    if (!initial && requestedNames.equals(state.requested)) {
      return true;
    }
    List<String> names = request.resourceNames();
    boolean wildcard =
        names.contains("*") || (names.isEmpty() && initial && type.fullStateOfTheWorld());
    List<String> sorted = new ArrayList<>(names);
    sorted.sort(null);
    List<ResourceRef> distinct = new ArrayList<>(sorted.size());
    String previous = null;
    for (String name : sorted) {
      if (!name.equals("*") && !name.equals(previous)) {
        distinct.add(ref(type, name));
      }
      previous = name;
    }
    int others = 0;
    for (Map.Entry<ResourceType, TypeState> entry : types.entrySet()) {
      if (entry.getKey() != type) {
        others += entry.getValue().refs.size();
      }
    }
    if (!withinStreamLimit(others + distinct.size())) {
      return false;
    }
    state.requested = requestedNames;
    List<ResourceRef> next = List.copyOf(distinct);
    if (initial || wildcard != state.wildcard || !next.equals(state.refs)) {
      // Usually the type's first subscription on the stream: it only adds names.
      boolean onlyAdded = state.refs.isEmpty();
      state.wildcard = wildcard;
      state.refs = next;
      state.stale = true;
      state.asked = true;
      state.subscribedNanos = context.nanoClock().getAsLong();
      state.dirty = true;
      List<ResourceRef> all = new ArrayList<>();
      boolean anyWildcard = false;
      for (TypeState each : types.values()) {
        all.addAll(each.refs);
        anyWildcard |= each.wildcard;
      }
      watch(all, anyWildcard, onlyAdded ? next : null);
    }
    return true;
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
    List<Resource> changed = resolve(type, state);
    if (!state.wildcard && state.refs.isEmpty()) {
      // It unsubscribed from everything of the type: nothing to say, and an empty answer can do
      // harm. grpc-js-xds unsubscribes everything when its last channel closes, ends the stream,
      // and asks again on a new one for the next channel; it still applies what arrives on the
      // old stream, so an empty Listener response that arrives after the new stream's answer
      // tells it that the Listener it now holds does not exist.
      state.asked = false;
      state.currentSent = true;
      setHeld(type, state.current);
      return;
    }
    String hash = contentHash(state.fingerprints, state.present);
    if (!state.asked && hasHash(state.sentVersion, hash)) {
      return; // a change left the content as this stream last sent it: nothing new
    }
    // Endpoints and routes need not be sent whole (a proxy keeps what a response leaves out), so
    // a change sends only the ones that changed; a request is answered with all it asked for.
    boolean whole = type.fullStateOfTheWorld() || state.asked || changed == null;
    state.asked = false;
    if (!whole && changed.isEmpty()) {
      return; // only removals, which a partial type cannot express: nothing to send
    }
    String versionInfo = context.generation() + "-" + hash;
    String nonce = Long.toString(++nonces);
    DiscoveryResponse.Builder response =
        DiscoveryResponse.newBuilder()
            .setVersionInfo(versionInfo)
            .setTypeUrl(type.typeUrl())
            .setNonce(nonce)
            .setControlPlane(CONTROL_PLANE);
    for (Resource resource : whole ? Arrays.asList(state.current) : changed) {
      if (resource != null) {
        response.addResources(resource.body());
      }
    }
    sent(response.build());
    state.sentVersion = versionInfo;
    state.sentNonce = nonce;
    state.currentSent = true;
    state.inFlight.add(
        InFlight.Sent.of(
            nonce, versionInfo, version.publishedNanos(), state.subscribedNanos, state.current));
    context.metrics().pushed(type, context.nanoClock().getAsLong() - start);
  }

  /**
   * Brings {@code state.current} up to date: every name when stale, otherwise only those a change
   * touched. Returns the resources that changed, or null when everything was resolved again.
   */
  private List<Resource> resolve(ResourceType type, TypeState state) {
    if (state.stale) {
      List<ResourceRef> refs = state.wildcard ? wildcardRefs(type) : state.refs;
      state.resolved = refs;
      state.current = new Resource[refs.size()];
      state.fingerprints = 0;
      state.present = 0;
      for (int i = 0; i < refs.size(); i++) {
        Resource resource = resolveOrPlaceholder(refs.get(i));
        state.current[i] = resource;
        if (resource != null) {
          state.fingerprints += fingerprintOf(resource);
          state.present++;
        }
      }
      state.stale = false;
      state.currentSent = false;
      state.pending.clear();
      return null;
    }
    if (state.currentSent && !state.pending.isEmpty()) {
      state.current = state.current.clone();
      state.currentSent = false;
    }
    List<Resource> changed = new ArrayList<>();
    for (int i = state.pending.nextSetBit(0); i >= 0; i = state.pending.nextSetBit(i + 1)) {
      Resource before = state.current[i];
      Resource after = resolveOrPlaceholder(state.resolved.get(i));
      if (before != null) {
        state.fingerprints -= fingerprintOf(before);
        state.present--;
      }
      if (after != null) {
        state.fingerprints += fingerprintOf(after);
        state.present++;
        if (before == null || !before.version().equals(after.version())) {
          changed.add(after);
        }
      }
      state.current[i] = after;
    }
    state.pending.clear();
    return changed;
  }

  private Resource resolveOrPlaceholder(ResourceRef ref) {
    Resource resource = resolve(ref);
    return resource != null ? resource : context.cache().placeholder(ref);
  }

  private void acknowledged(ResourceType type, TypeState state, InFlight.Sent sent) {
    state.ackedVersion = sent.version();
    state.ackedAt = context.clock().instant();
    state.rejectedSinceNanos = NOT_BEHIND;
    setHeld(type, sent.holds());
    context.metrics().acked(type, sent);
  }

  private void rejected(
      ResourceType type, TypeState state, InFlight.Sent sent, SotwRequest request) {
    String detail = request.errorDetail().getMessage();
    state.lastNack = new ProxyStatus.Nack(sent.version(), detail, context.clock().instant());
    state.rejectedSinceNanos = Math.min(state.rejectedSinceNanos, sent.sinceNanos());
    context.metrics().nacked(type);
    log.warn(
        "proxy {} rejected {} version {}: {}; it keeps its last good version {}",
        nodeId(),
        type.typeUrl(),
        sent.version(),
        detail,
        request.versionInfo());
  }

  /** Answers a type Weft does not serve with an empty response, so the client does not wait. */
  private void answerUnknownType(SotwRequest request) {
    if (!request.responseNonce().isEmpty() || !ready()) {
      return;
    }
    sent(
        DiscoveryResponse.newBuilder()
            .setTypeUrl(request.typeUrl())
            .setVersionInfo(context.generation() + "-none")
            .setNonce(Long.toString(++nonces))
            .setControlPlane(CONTROL_PLANE)
            .build());
  }

  /** Whether a version this stream made ({@code <generation>-<hash>}) has this content hash. */
  private static boolean hasHash(String versionInfo, String hash) {
    int start = versionInfo.length() - hash.length();
    return start > 0
        && versionInfo.charAt(start - 1) == '-'
        && versionInfo.regionMatches(start, hash, 0, hash.length());
  }

  @Override
  Map<String, ProxyStatus.TypeStatus> typeStatuses() {
    Map<String, ProxyStatus.TypeStatus> result = new LinkedHashMap<>();
    for (Map.Entry<ResourceType, TypeState> entry : types.entrySet()) {
      TypeState state = entry.getValue();
      InFlight.Sent pending = state.inFlight.newest();
      InFlight.Sent oldest = state.inFlight.oldest();
      result.put(
          entry.getKey().typeUrl(),
          new ProxyStatus.TypeStatus(
              state.wildcard ? List.of("*") : state.refs.stream().map(ResourceRef::name).toList(),
              state.ackedVersion,
              state.ackedAt,
              pending == null ? "" : pending.version(),
              oldest == null ? null : instantOf(oldest.sinceNanos()),
              heldNames(entry.getKey()),
              state.lastNack));
    }
    return result;
  }
}
