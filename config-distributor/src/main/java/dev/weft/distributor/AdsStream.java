package dev.weft.distributor;

import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.registry.ChangeSet;
import dev.weft.registry.Endpoint;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What state-of-the-world and delta ADS streams share: identity of the proxy, the Services it
 * watches, the latest configuration version, flow control and status.
 *
 * <p>Thread-safety: every mutable field is confined to {@link #executor}, a sequential executor
 * over the distributor's bounded push pool, so requests, configuration changes and flow-control
 * events for one stream run one at a time, in order, and streams run in parallel up to the pool's
 * size. The proxy's identity is volatile; {@link #status()} and {@link #held()} read the rest by
 * running on the executor, so the hot path never pays for status snapshots nobody reads.
 *
 * <p>Flow control: gRPC delivers a stream's requests only as the stream asks for them ({@link
 * #REQUESTS_IN_HAND} at first, then one for each handled), so a client that sends faster than its
 * stream handles waits on HTTP/2 flow control instead of filling a queue here. A client that asks
 * for more than {@link StreamLimits} allows has its stream ended with RESOURCE_EXHAUSTED (or
 * INVALID_ARGUMENT for a name too long), counted in {@code weft.xds.refused}.
 */
abstract class AdsStream implements ConfigWatcher {

  private static final Logger log = LoggerFactory.getLogger(AdsStream.class);
  private static final AtomicLong IDS = new AtomicLong();

  /**
   * How many requests a stream may have received but not yet handled. With two, the next request is
   * already read and parsed (on the transport thread) while one is handled (on the executor), so a
   * busy stream never waits for the transport; more would only hold more parsed requests (up to the
   * message size limit each) for a client that sends faster than it is served. Whatever a client
   * sends beyond waits in HTTP/2 flow control: bytes in the transport's window, bounded by it,
   * until the stream asks for the next.
   */
  static final int REQUESTS_IN_HAND = 2;

  /** How long a status read waits for a busy stream before answering with its identity only. */
  private static final long STATUS_TIMEOUT_MILLIS = 2_000;

  /** The wildcard types of a sidecar's view: see {@link #untouchedWildcards}. */
  private static final Set<ResourceType> WILDCARDS_OF_A_VIEW =
      Set.of(ResourceType.LISTENER, ResourceType.CLUSTER);

  protected final AdsContext context;
  protected final Executor executor;
  private final ServerCallStreamObserver<?> responses;
  private final String id;
  private final String peer;
  private final AuthenticatedPeers.Identity authenticated;
  private final Instant connectedSince;

  /**
   * The Services watched: an array, because a proxy may watch thousands. Replaced, never modified,
   * so that {@link #concerns} can read it off the executor.
   */
  private volatile ServiceKey[] watched = new ServiceKey[0];

  /** Per type, what the proxy holds, as acknowledged: never modified, null entries are absent. */
  private final Map<ResourceType, Resource[]> held = new EnumMap<>(ResourceType.class);

  private volatile boolean watchingAll;

  /** Whether the proxy subscribes to a server Listener: it must see its namespace's changes. */
  private volatile boolean watchingInbound;

  /**
   * The Services of the resources the proxy subscribes to by name, sorted and distinct: an array
   * rather than a set, which would cost a connected proxy kilobytes of heap for the hundred
   * Services it typically names; it is looked up by binary search.
   */
  private ServiceKey[] namedServices = new ServiceKey[0];

  /**
   * An Envoy sidecar's wildcard Clusters: the Services of its view, as of its last push. Watched
   * like named ones, so that an endpoint change elsewhere in the mesh does not wake it.
   */
  private Set<ServiceKey> viewServices = Set.of();

  /** Whether {@link #watch} made this an Envoy sidecar's view watcher. */
  private boolean watchingView;

  /** The Services an endpoint of the sidecar's own Pod was in, as of the last change seen. */
  private Set<ServiceKey> podServices = Set.of();

  protected ConfigVersion version;
  protected boolean closed;
  private volatile String nodeId = "";
  private volatile String namespace = "";
  private volatile String serviceAccount = "";
  private volatile String pod = "";
  private volatile String type = "";

  /**
   * The proxy's zone, for locality failover: what its node's locality says, else the zone of its
   * Pod's endpoints once the registry has them ({@link #zone()}); empty while unknown.
   */
  private volatile String zone = "";

  /**
   * The nano clock's reading since when the proxy lacks configuration it should hold: the oldest
   * response it has not answered, the response it rejected, or a push a busy transport holds back;
   * {@link #NOT_BEHIND} when it holds everything. Written on the executor, read by the stale-proxy
   * gauge without it.
   */
  private volatile long behindSinceNanos = NOT_BEHIND;

  /** When {@link #flush} last found the transport unable to take a push it had; else NOT_BEHIND. */
  private long blockedSinceNanos = NOT_BEHIND;

  static final long NOT_BEHIND = Long.MAX_VALUE;

  /**
   * The sequence of the newest configuration version the proxy holds all of, as far as it concerns
   * it: set when nothing is unanswered, rejected or held back. -1 before that.
   */
  private volatile long heldSequence = -1;

  /** The rejection that keeps the proxy behind, or null. */
  private volatile ProxyStatus.Nack currentRejection;

  /** Which Services a sidecar sees: those its egress hosts declare, or the whole mesh. */
  private volatile EgressView egress = EgressView.ALL;

  /**
   * For a Gateway's Envoy, its Gateway as {@code namespace/name}: the Gateway of the proxy's
   * namespace its Pod's {@code gateway.networking.k8s.io/gateway-name} label names (GEP-1762);
   * empty for any other proxy, or a gateway that names none.
   */
  private volatile String gateway = "";

  /**
   * @param authenticated who the proxy's certificate says it is, on the mutual TLS port; null on
   *     the plaintext port, where its node's claims are all there is
   */
  AdsStream(
      AdsContext context,
      ServerCallStreamObserver<?> responses,
      String peer,
      AuthenticatedPeers.Identity authenticated) {
    this.context = context;
    this.authenticated = authenticated;
    this.responses = responses;
    Executor sequential = MoreExecutors.newSequentialExecutor(context.pushPool());
    this.executor =
        task -> {
          try {
            sequential.execute(task);
          } catch (RejectedExecutionException e) {
            // The distributor has shut down its pool: the stream ends with it.
          }
        };
    this.id = "ads-" + IDS.incrementAndGet();
    this.peer = peer;
    this.connectedSince = context.clock().instant();
    this.version = context.pipeline().current();
  }

  /** Registers the stream once it is fully constructed; call before returning it to gRPC. */
  final void start() {
    responses.setOnReadyHandler(() -> executor.execute(this::flushIfOpen));
    responses.setOnCancelHandler(() -> executor.execute(this::close));
    context.proxies().add(this);
    context.watchers().add(this);
    responses.request(REQUESTS_IN_HAND);
  }

  /**
   * Hands a request to the executor, and asks gRPC for the next one only once it was handled. Call
   * from the transport's {@code onNext}; the service disabled gRPC's automatic requests.
   */
  protected final void receive(Runnable handle) {
    executor.execute(
        () -> {
          try {
            handle.run();
          } finally {
            if (!closed) {
              responses.request(1);
            }
          }
        });
  }

  /**
   * Refuses a request that names more resources, or a longer name, than {@link StreamLimits}
   * allows: ends the stream. Returns whether the request is within the limits.
   */
  protected final boolean withinLimits(int names, int longestName) {
    StreamLimits limits = context.limits();
    if (names > limits.namesPerRequest()) {
      refuse(
          XdsMetrics.Refusal.NAMES_PER_REQUEST,
          Status.RESOURCE_EXHAUSTED.withDescription(limits.tooManyNames(names)));
      return false;
    }
    if (longestName > limits.nameLength()) {
      refuse(
          XdsMetrics.Refusal.NAME_LENGTH,
          Status.INVALID_ARGUMENT.withDescription(limits.nameTooLong(longestName)));
      return false;
    }
    return true;
  }

  /**
   * Refuses a request that would subscribe the stream to more names than {@link StreamLimits}
   * allows: ends the stream. Returns whether {@code subscribed} is within the limit.
   */
  protected final boolean withinStreamLimit(int subscribed) {
    StreamLimits limits = context.limits();
    if (subscribed > limits.namesPerStream()) {
      refuse(
          XdsMetrics.Refusal.NAMES_PER_STREAM,
          Status.RESOURCE_EXHAUSTED.withDescription(limits.tooManySubscriptions(subscribed)));
      return false;
    }
    return true;
  }

  /** Ends the stream because its client exceeded a limit. Runs on the executor. */
  private void refuse(XdsMetrics.Refusal reason, Status status) {
    context
        .metrics()
        .refused(
            reason,
            "refused stream "
                + id
                + " of proxy "
                + nodeId
                + " from "
                + peer
                + ": "
                + status.getCode()
                + " "
                + status.getDescription());
    close();
    try {
      responses.onError(status.asRuntimeException());
    } catch (IllegalStateException e) {
      // Already cancelled by the client: nothing to answer.
    }
  }

  String id() {
    return id;
  }

  String nodeId() {
    return nodeId;
  }

  Instant connectedSince() {
    return connectedSince;
  }

  /** A snapshot of what the proxy holds and awaits, taken on the stream's executor. */
  ProxyStatus status() {
    return onExecutor(() -> identity(typeStatuses()), () -> identity(Map.of()));
  }

  /** What the proxy holds, per type, as far as the stream knows. */
  Map<ResourceType, List<Resource>> held() {
    return onExecutor(
        () -> {
          Map<ResourceType, List<Resource>> copy = new EnumMap<>(ResourceType.class);
          held.forEach((type, resources) -> copy.put(type, present(resources)));
          return copy;
        },
        Map::of);
  }

  private <T> T onExecutor(
      java.util.function.Supplier<T> read, java.util.function.Supplier<T> fallback) {
    CompletableFuture<T> result = new CompletableFuture<>();
    executor.execute(() -> result.complete(read.get()));
    try {
      return result.get(STATUS_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return fallback.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fallback.get();
    }
  }

  private ProxyStatus identity(Map<String, ProxyStatus.TypeStatus> types) {
    return new ProxyStatus(
        id,
        nodeId,
        namespace,
        serviceAccount,
        pod,
        type,
        egress.entries(),
        peer,
        protocol(),
        connectedSince,
        instantOf(behindSinceNanos),
        types);
  }

  /** The wall-clock time of a nano clock reading; null for {@link #NOT_BEHIND}. */
  protected final Instant instantOf(long nanos) {
    if (nanos == NOT_BEHIND) {
      return null;
    }
    return context.clock().instant().minusNanos(context.nanoClock().getAsLong() - nanos);
  }

  @Override
  public final void configChanged(ConfigVersion next, ChangeSet changes) {
    executor.execute(
        () -> {
          if (closed) {
            return;
          }
          boolean first = version == null;
          if (version == null || next.sequence() > version.sequence()) {
            version = next;
          }
          onConfig(first ? null : changes, next);
          flush();
        });
  }

  /** What both protocols keep per resource type: subscription, push state, answers. */
  abstract static class TypeState {
    boolean wildcard;

    /** Everything subscribed must be resolved again (new names, first configuration). */
    boolean stale = true;

    /** Something may have changed: push what differs from what the proxy holds. */
    boolean dirty;

    final InFlight inFlight = new InFlight();

    /** Since when the proxy holds an older version than the one it rejected; else NOT_BEHIND. */
    long rejectedSinceNanos = NOT_BEHIND;

    /**
     * The nano clock's reading at the proxy's last request that changed what it subscribes to (the
     * first one included): a response to it that carries no newer change is its sync, timed from
     * here, not from the change's publication (see {@link InFlight.Sent#of}).
     */
    long subscribedNanos = Long.MIN_VALUE;

    String ackedVersion = "";

    /** When the proxy last acknowledged this type; null before. */
    Instant ackedAt;

    ProxyStatus.Nack lastNack;

    /**
     * Marks the subscribed server Listeners for the next push, and the type dirty if there are any:
     * a change in their workload's namespace may change what they enforce. Their names share a
     * prefix, so they are one run of names in sorted order.
     */
    abstract void markServerListeners();

    /**
     * Marks the subscribed names that refer to {@code service} for the next push, and the type
     * dirty if there are any. Every name of a Service starts with {@code <name>.<namespace>}, so
     * they are one run of names in sorted order, found without an index per stream.
     */
    abstract void markTouched(ServiceKey service);

    static String namePrefix(ServiceKey service) {
      return service.name() + "." + service.namespace();
    }
  }

  /** The state of a type on this stream, or null when the proxy never asked for it. */
  abstract TypeState typeState(ResourceType type);

  /** Sends the type's response, or nothing if the proxy already holds its content. */
  abstract void push(ResourceType type);

  /**
   * Marks the types a change touches as needing a push; {@code changes} is null when this is the
   * first configuration the stream sees, which touches everything subscribed. {@code changed} is
   * the version the change made.
   */
  private void onConfig(ChangeSet changes, ConfigVersion changed) {
    Set<ResourceType> untouchedWildcards = untouchedWildcards(changes);
    for (ResourceType type : ResourceType.values()) {
      TypeState state = typeState(type);
      if (state == null) {
        continue;
      }
      // A Gateway's routes and certificates follow its Gateway, its routes and its Secrets:
      // configuration no Service change names. Its Envoy resolves them again at every change
      // (Gateways are few, and its view is built once per snapshot).
      boolean gatewayOwn =
          !gateway.isEmpty() && (type == ResourceType.ROUTE || type == ResourceType.SECRET);
      if (state.wildcard && untouchedWildcards.contains(type)) {
        // Not resolved again as a whole: the Clusters of the Services whose endpoints changed
        // (their endpoints' identities) are, if it has them.
        for (ServiceKey service : changes.endpoints()) {
          state.markTouched(service);
        }
        continue;
      }
      if (changes == null || state.wildcard || gatewayOwn) {
        state.stale = true;
        state.dirty = true;
        continue;
      }
      for (ServiceKey service : changes.services()) {
        // A route change to a Service its every client watches would otherwise resolve its
        // Listener, cluster and endpoints again on every stream, to find them unchanged.
        if (mayAlter(type, service, changed)) {
          state.markTouched(service);
        }
      }
      if (type == ResourceType.ENDPOINT) {
        for (ServiceKey service : changes.endpoints()) {
          state.markTouched(service);
        }
      }
      if (type == ResourceType.LISTENER && watchingInbound && touchesWorkload(changes)) {
        state.markServerListeners();
      }
    }
  }

  /**
   * Whether a change that made {@code changed} and named {@code service} may alter what the proxy
   * holds of a type for the Service by name. A change to the Service itself alters anything. One to
   * what is attached to it alters its routes; its clusters (policies, mutual TLS) and its load
   * assignments asked for from a zone (locality failover) too, unless only routes changed. A client
   * Listener and a load assignment without a zone are built from the Service and its endpoints
   * alone (see {@code ResourceCache.lookUp}). A server Listener is marked apart ({@link
   * TypeState#markServerListeners}).
   */
  private boolean mayAlter(ResourceType type, ServiceKey service, ConfigVersion changed) {
    if (!changed.attachedOnly().contains(service)) {
      return true;
    }
    boolean followsPolicies =
        type == ResourceType.CLUSTER || (type == ResourceType.ENDPOINT && !zone.isEmpty());
    return type == ResourceType.ROUTE
        || type == ResourceType.SECRET
        || (followsPolicies && !changed.routesOnly().contains(service));
  }

  /**
   * The wildcard types of an Envoy sidecar that an endpoint change does not alter as a whole, so
   * that only what it touched is resolved again: its Listeners and Clusters, unless the change is
   * to a Service its own Pod is, or was, an endpoint of (its inbound Listener and clusters follow
   * them). A cluster of a Service whose endpoints changed is resolved again (it names their
   * identities); its Listeners do not depend on other Pods' endpoints. Any other change alters them
   * all.
   */
  private Set<ResourceType> untouchedWildcards(ChangeSet changes) {
    if (!watchingView || pod.isEmpty() || version == null) {
      return Set.of();
    }
    if (changes == null || !changes.services().isEmpty() || !changes.configs().isEmpty()) {
      podServices = context.cache().servicesOfPod(version.state(), namespace, pod);
      return Set.of();
    }
    // Only the changed Services are looked at, a few endpoints each, and nothing is allocated
    // unless its Pod is concerned: this runs for every sidecar an endpoint change wakes.
    for (ServiceKey service : changes.endpoints()) {
      if (podServices.contains(service) || hasEndpointOfPod(service)) {
        podServices = context.cache().servicesOfPod(version.state(), namespace, pod);
        return Set.of();
      }
    }
    return WILDCARDS_OF_A_VIEW;
  }

  /** Whether an endpoint of {@code service} is this sidecar's own Pod, as of its version. */
  private boolean hasEndpointOfPod(ServiceKey service) {
    if (!service.namespace().equals(namespace)) {
      return false;
    }
    for (Endpoint endpoint : version.state().endpoints(service).all()) {
      if (endpoint.pod().equals(pod)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Pushes every type with something new, one unanswered response per type at most: while a proxy
   * has not answered the last response of a type, later changes wait and go out together with the
   * answer. An idle proxy answers within a round trip, so this costs nothing; a busy one (or a busy
   * control plane) gets fewer, larger pushes instead of a queue that grows, which is what keeps
   * convergence bounded under load.
   */
  protected final void flush() {
    boolean blocked = false;
    for (ResourceType type : ResourceType.values()) {
      TypeState state = typeState(type);
      if (state != null && state.dirty && state.inFlight.newest() == null) {
        if (!ready()) {
          blocked = version != null; // the ready handler, or the first configuration, flushes again
          break;
        }
        push(type);
      }
    }
    if (!blocked) {
      blockedSinceNanos = NOT_BEHIND;
    } else if (blockedSinceNanos == NOT_BEHIND) {
      blockedSinceNanos = context.nanoClock().getAsLong();
    }
    updateBehind();
  }

  /** Recomputes {@link #behindSinceNanos} after a push, an answer or a blocked transport. */
  protected final void updateBehind() {
    long behind = blockedSinceNanos;
    ProxyStatus.Nack rejection = null;
    for (ResourceType type : ResourceType.values()) {
      TypeState state = typeState(type);
      if (state != null) {
        InFlight.Sent oldest = state.inFlight.oldest();
        if (oldest != null && oldest.sinceNanos() - behind < 0) {
          behind = oldest.sinceNanos();
        }
        behind = Math.min(behind, state.rejectedSinceNanos);
        if (state.rejectedSinceNanos != NOT_BEHIND) {
          rejection = state.lastNack;
        }
      }
    }
    behindSinceNanos = behind;
    currentRejection = rejection;
    if (behind == NOT_BEHIND && version != null) {
      heldSequence = version.sequence();
    }
  }

  /**
   * Whether configuration attached to {@code services} reaches this proxy: it watches one of them
   * (or everything), or it serves in their namespace (a server's Listener carries the policies of
   * its Services), or one is a whole namespace it watches a Service of. Lock-free, off the
   * executor.
   */
  boolean concerns(Set<ServiceKey> services) {
    if (watchingAll) {
      return true;
    }
    for (ServiceKey service : services) {
      if (watchingInbound && service.namespace().equals(namespace)) {
        return true;
      }
    }
    for (ServiceKey watchedService : watched) {
      for (ServiceKey service : services) {
        if (service.equals(watchedService)
            || (service.isNamespaceWide()
                && service.namespace().equals(watchedService.namespace()))) {
          return true;
        }
      }
    }
    return false;
  }

  /** See {@link #heldSequence}. */
  long heldSequence() {
    return heldSequence;
  }

  /** The rejection that keeps the proxy from holding newer configuration, or null. */
  ProxyStatus.Nack currentRejection() {
    return currentRejection;
  }

  /**
   * Whether the proxy has lacked configuration it should hold for longer than {@code threshold} at
   * {@code nowNanos}: a response it has not answered, a version it rejected, a push its transport
   * cannot take. Cheap and lock-free, for a gauge over every stream.
   */
  boolean staleAt(long nowNanos, long thresholdNanos) {
    long since = behindSinceNanos;
    return since != NOT_BEHIND && nowNanos - since > thresholdNanos;
  }

  abstract String protocol();

  /** Per type URL: what is subscribed, acknowledged, pending. Runs on the executor. */
  abstract Map<String, ProxyStatus.TypeStatus> typeStatuses();

  /** Whether the transport can take a message now; when not, the ready handler flushes later. */
  protected final boolean ready() {
    return !closed && version != null && responses.isReady();
  }

  private void flushIfOpen() {
    if (!closed) {
      flush();
    }
  }

  /**
   * Takes the newest version before answering a request. Changes published before this stream
   * watched a Service reach it this way; those published after reach it through {@link
   * #configChanged}, so nothing needs marking here: what the request asked for is pushed anyway.
   */
  protected final void catchUp() {
    ConfigVersion latest = context.pipeline().current();
    if (latest != null && (version == null || latest.sequence() > version.sequence())) {
      version = latest;
    }
  }

  /**
   * Whether a change may alter a server Listener of this workload: one that touches a Service (or
   * its endpoints) of the workload's namespace, or any, when the namespace is unknown.
   */
  private boolean touchesWorkload(ChangeSet changes) {
    if (namespace.isEmpty()) {
      return true;
    }
    for (ServiceKey service : changes.services()) {
      if (service.namespace().equals(namespace)) {
        return true;
      }
    }
    for (ServiceKey service : changes.endpoints()) {
      if (service.namespace().equals(namespace)) {
        return true;
      }
    }
    return false;
  }

  /** The workload the proxy says it is, for the Listeners of its servers. */
  protected final Inbound.Workload workload() {
    return new Inbound.Workload(namespace, pod);
  }

  /**
   * Reads the proxy's identity from the first request's node. On the mutual TLS port the
   * certificate's namespace and service account are authoritative: a node that claims others is
   * refused (its stream ends with PERMISSION_DENIED), one that claims none gets the certificate's.
   * Returns whether the stream goes on.
   */
  protected final boolean identify(Node node) {
    if (!nodeId.isEmpty() || node == null || node.getId().isEmpty()) {
      return true;
    }
    Struct metadata = node.getMetadata();
    String claimedNamespace = text(metadata, "NAMESPACE");
    String claimedAccount = text(metadata, "SERVICE_ACCOUNT");
    if (authenticated != null) {
      if ((!claimedNamespace.isEmpty() && !claimedNamespace.equals(authenticated.namespace()))
          || (!claimedAccount.isEmpty()
              && !claimedAccount.equals(authenticated.serviceAccount()))) {
        refuse(
            XdsMetrics.Refusal.IDENTITY_MISMATCH,
            Status.PERMISSION_DENIED.withDescription(
                "node "
                    + node.getId()
                    + " claims namespace \""
                    + claimedNamespace
                    + "\" and service account \""
                    + claimedAccount
                    + "\", but its certificate is of "
                    + authenticated.namespace()
                    + "/"
                    + authenticated.serviceAccount()));
        return false;
      }
      claimedNamespace = authenticated.namespace();
      claimedAccount = authenticated.serviceAccount();
    }
    namespace = claimedNamespace;
    serviceAccount = claimedAccount;
    pod = text(metadata, "POD_NAME");
    zone = node.getLocality().getZone();
    type = proxyType(node);
    if (type.equals("gateway") && !namespace.isEmpty()) {
      Value labels = metadata.getFieldsOrDefault("LABELS", null);
      String name = labels == null ? "" : text(labels.getStructValue(), GATEWAY_NAME_LABEL);
      gateway = name.isEmpty() ? "" : namespace + "/" + name;
    }
    if (type.equals("sidecar")) {
      egress = egressView(node, namespace);
    }
    nodeId = node.getId();
    log.debug("stream {} from {} is proxy {} ({}), seeing {}", id, peer, nodeId, type, egress);
    return true;
  }

  /**
   * The view a sidecar's egress hosts declare ({@link EgressHosts}). A declaration with an invalid
   * entry is ignored as a whole, with one WARN naming each bad entry and why, and the sidecar sees
   * the whole mesh, as without one: scoping trims what a sidecar holds, it is not access control,
   * so a mistake in it should cost memory, never traffic. Ignoring only the bad entry would send
   * the Services it meant past Weft's routes and mutual TLS (they pass through), and refusing the
   * stream would leave the Pod, whose outbound traffic iptables sends to Envoy, with no Listener.
   */
  private EgressView egressView(Node node, String namespace) {
    Value declared = node.getMetadata().getFieldsOrDefault(EgressHosts.METADATA_KEY, null);
    if (declared == null) {
      return EgressView.ALL;
    }
    List<String> entries = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    if (declared.hasStringValue()) {
      entries.addAll(EgressHosts.split(declared.getStringValue()));
    } else if (declared.hasListValue()) {
      for (Value entry : declared.getListValue().getValuesList()) {
        if (entry.hasStringValue()) {
          entries.add(entry.getStringValue());
        } else {
          problems.add("an entry is not a string: " + entry.toString().strip());
        }
      }
    } else {
      problems.add("not a list of <namespace>/<service> entries");
    }
    if (problems.isEmpty()) {
      Validated<List<EgressHosts.Host>> hosts = EgressHosts.parse(entries);
      Validated<EgressView> view =
          hosts instanceof Validated.Valid<List<EgressHosts.Host>> valid
              ? EgressView.of(valid.value(), namespace)
              : Validated.invalid(hosts.errors());
      if (view instanceof Validated.Valid<EgressView> valid) {
        return valid.value();
      }
      view.errors().forEach(error -> problems.add(error.reason()));
    }
    log.warn(
        "node {}: its {} is ignored, the sidecar sees the whole mesh: {}",
        node.getId(),
        EgressHosts.METADATA_KEY,
        String.join("; ", problems));
    return EgressView.ALL;
  }

  /**
   * What kind of proxy the node is: Envoy says so in the {@code PROXY_TYPE} metadata of Weft's
   * bootstraps, or at least in its user agent (an Envoy without one is a sidecar); anything else is
   * a proxyless gRPC client or server.
   */
  private static String proxyType(Node node) {
    String declared = text(node.getMetadata(), "PROXY_TYPE");
    if (declared.equals("sidecar") || declared.equals("gateway")) {
      return declared;
    }
    return node.getUserAgentName().equals("envoy") ? "sidecar" : "grpc";
  }

  private static String text(Struct metadata, String key) {
    Value value = metadata.getFieldsOrDefault(key, null);
    return value == null ? "" : value.getStringValue();
  }

  /** The label of a Gateway's Pods that names their Gateway (GEP-1762). */
  static final String GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

  /**
   * Watches exactly the Services the given resources refer to, and every change when needed. An
   * Envoy sidecar's wildcard watches its view instead (see {@link WatcherIndex#watchView}): the
   * Services its Clusters name, its namespace (its inbound Listener follows its Pod's endpoints),
   * and every change that adds, changes or removes a Service or a route or policy.
   */
  protected final void watch(Collection<ResourceRef> refs, boolean all) {
    watch(refs, all, null);
  }

  /**
   * {@link #watch(Collection, boolean)}, told that the change only added {@code added} to what the
   * stream asked for before (null when it may have removed some): it then looks up only those.
   */
  protected final void watch(
      Collection<ResourceRef> refs, boolean all, Collection<ResourceRef> added) {
    if (!(added == null ? namesSameServices(refs) : namesOnlyWatched(added))) {
      Set<ServiceKey> named = new HashSet<>();
      for (ResourceRef ref : refs) {
        if (ref.service() != null) {
          named.add(ref.service());
        }
      }
      ServiceKey[] sorted = named.toArray(new ServiceKey[0]);
      Arrays.sort(sorted);
      namedServices = sorted;
      updateWatched();
    }
    boolean view = all && type.equals("sidecar") && gateway.isEmpty() && !namespace.isEmpty();
    // A Gateway's Envoy follows its Gateway, routes and Secrets, which no Service names.
    if (((all && !view) || !gateway.isEmpty()) && !watchingAll) {
      context.watchers().watchAll(this);
      watchingAll = true;
    }
    if (view && !watchingView) {
      watchingView = true;
      context.watchers().watchView(this);
      // Its inbound Listener follows its Pod's endpoints (and policies of its namespace, which
      // are structural changes); without a Pod name, its namespace.
      if (pod.isEmpty()) {
        context.watchers().watchNamespace(this, namespace);
      } else {
        context.watchers().watchPod(this, namespace, pod);
      }
      watchingInbound = true;
    }
    if (!watchingInbound && refs.stream().anyMatch(ResourceRef::isServerListener)) {
      // A server's Listener follows its namespace (see Inbound); with no namespace, everything.
      if (namespace.isEmpty()) {
        context.watchers().watchAll(this);
        watchingAll = true;
      } else {
        context.watchers().watchNamespace(this, namespace);
      }
      watchingInbound = true;
    }
  }

  /**
   * Whether {@code refs} name exactly the Services the stream already watches by name. Usually so:
   * a proxyless client asks for the Listener, route, Cluster and endpoints of each of its Services,
   * one type after another, and only the first of the four names new Services. Looking them up is
   * cheaper than collecting and sorting them again, which a reconnecting fleet would do for every
   * request.
   */
  private boolean namesSameServices(Collection<ResourceRef> refs) {
    BitSet named = new BitSet(namedServices.length);
    for (ResourceRef ref : refs) {
      if (ref.service() != null) {
        int index = Arrays.binarySearch(namedServices, ref.service());
        if (index < 0) {
          return false;
        }
        named.set(index);
      }
    }
    return named.cardinality() == namedServices.length;
  }

  /** Whether every Service {@code refs} name is one the stream already watches by name. */
  private boolean namesOnlyWatched(Collection<ResourceRef> refs) {
    for (ResourceRef ref : refs) {
      if (ref.service() != null && Arrays.binarySearch(namedServices, ref.service()) < 0) {
        return false;
      }
    }
    return true;
  }

  /** Records the Services of a sidecar's view, as its wildcard Clusters name them. */
  private void watchViewServices(List<ResourceRef> clusters) {
    Set<ServiceKey> services = new HashSet<>();
    for (ResourceRef ref : clusters) {
      if (ref.service() != null) {
        services.add(ref.service());
      }
    }
    if (services.equals(viewServices)) {
      return;
    }
    boolean grew = !viewServices.containsAll(services);
    viewServices = services;
    updateWatched();
    ConfigVersion latest = context.pipeline().current();
    if (grew && latest != null && latest.sequence() > version.sequence()) {
      // Endpoint changes published since this push's version did not wake the stream for the
      // Services its view just took in: resolve the wildcard types again on the newest version.
      executor.execute(
          () -> {
            if (closed) {
              return;
            }
            catchUp();
            for (ResourceType each : ResourceType.values()) {
              TypeState state = typeState(each);
              if (state != null && state.wildcard) {
                state.stale = true;
                state.dirty = true;
              }
            }
            flush();
          });
    }
  }

  /** Brings the index up to date with {@link #namedServices} and {@link #viewServices}. */
  private void updateWatched() {
    Set<ServiceKey> now = new HashSet<>(Arrays.asList(namedServices));
    now.addAll(viewServices);
    Set<ServiceKey> before = Set.of(watched);
    List<ServiceKey> started = new ArrayList<>();
    for (ServiceKey service : now) {
      if (!before.contains(service)) {
        started.add(service);
      }
    }
    List<ServiceKey> stopped = new ArrayList<>();
    for (ServiceKey service : watched) {
      if (!now.contains(service)) {
        stopped.add(service);
      }
    }
    if (!started.isEmpty() || !stopped.isEmpty()) {
      context.watchers().update(this, started, stopped);
      // Without a view (all but Envoy sidecars) they are the named ones: share that array.
      watched = viewServices.isEmpty() ? namedServices : now.toArray(new ServiceKey[0]);
    }
  }

  /** The parsed, shared form of a requested name (Envoy's own, for an Envoy proxy). */
  protected final ResourceRef ref(ResourceType type, String name) {
    if (type == ResourceType.ENDPOINT && !zone().isEmpty()) {
      return context.cache().zonedRef(name, zone);
    }
    return isEnvoy() ? context.cache().envoyRef(type, name) : context.cache().ref(type, name);
  }

  /**
   * The proxy's zone. A node that names none (an injected sidecar cannot know its node's zone: the
   * downward API does not expose node labels) is in its Pod's zone, which the Pod's endpoints in
   * EndpointSlices carry; looked up when load assignments are subscribed, until found.
   */
  private String zone() {
    if (zone.isEmpty() && !pod.isEmpty() && version != null) {
      zone = context.cache().zoneOfPod(version.state(), namespace, pod);
    }
    return zone;
  }

  /** Whether the proxy is an Envoy, which gets Listeners and Clusters built for it. */
  private boolean isEnvoy() {
    return type.equals("sidecar") || type.equals("gateway");
  }

  /**
   * Every resource of a type that exists, for a wildcard subscription, by canonical name. An Envoy
   * sidecar's wildcard Listeners are its outbound Listener; a gateway's, none yet; an Envoy's
   * wildcard Clusters are those of the Services it sees (its view's list, shared), and the
   * passthrough to destinations outside the mesh, or outside its view.
   */
  protected final List<ResourceRef> wildcardRefs(ResourceType type) {
    List<ResourceRef> refs = new ArrayList<>();
    boolean sidecar = this.type.equals("sidecar");
    if (this.type.equals("gateway")) {
      return gatewayWildcardRefs(type);
    }
    if (isEnvoy() && type == ResourceType.LISTENER) {
      if (sidecar) {
        if (!context.cache().inboundPortNumbers(version.state(), workload()).isEmpty()) {
          refs.add(ref(type, EnvoySidecarTranslator.INBOUND_LISTENER));
        }
        refs.add(ref(type, EnvoySidecarTranslator.OUTBOUND_LISTENER));
      }
      return refs;
    }
    if (isEnvoy() && type == ResourceType.CLUSTER) {
      List<ResourceRef> view = context.cache().outbound(version.state(), egress).clusters();
      if (sidecar) {
        watchViewServices(view);
      }
      refs.addAll(view);
      refs.add(ref(type, EnvoySidecarTranslator.PASSTHROUGH_CLUSTER));
      if (sidecar) {
        for (int port : context.cache().inboundPortNumbers(version.state(), workload())) {
          refs.add(ref(type, EnvoySidecarTranslator.inboundClusterName(port)));
        }
        context
            .cache()
            .tracing(version.state(), namespace)
            .ifPresent(
                tracing -> refs.add(ref(type, TracingTranslator.clusterName(tracing.otlp()))));
      }
    } else {
      ResourceNames names = context.cache().names();
      for (var service : version.state().services().values()) {
        if (egress.includes(service.key())) {
          for (var port : service.ports()) {
            refs.add(ref(type, names.canonical(service.key(), port.port())));
          }
        }
      }
    }
    refs.sort(Comparator.comparing(ResourceRef::name));
    return refs;
  }

  /**
   * A Gateway's wildcard Listeners and Clusters: those of its ports, and those its routes forward
   * to; nothing before its Gateway (of a Weft class) exists.
   */
  private List<ResourceRef> gatewayWildcardRefs(ResourceType type) {
    if (gateway.isEmpty()) {
      return new ArrayList<>();
    }
    GatewayTranslator.View view = context.cache().gatewayView(version.state(), gateway);
    Collection<String> names =
        switch (type) {
          case LISTENER -> view.listeners().keySet();
          case CLUSTER -> view.clusters();
          default -> List.of();
        };
    List<ResourceRef> refs = new ArrayList<>(names.size());
    for (String name : names) {
      refs.add(ref(type, name));
    }
    return refs;
  }

  /**
   * Whether the proxy may hold what {@code ref} names: a Gateway's resources only its own Envoy,
   * and a certificate only the Envoy of a Gateway that serves it. Anything else is as if it did not
   * exist, so that asking tells nothing.
   */
  private boolean mayHold(ResourceRef ref) {
    if (ref.type() == ResourceType.SECRET) {
      return !gateway.isEmpty()
          && context.cache().gatewayView(version.state(), gateway).secrets().contains(ref.name());
    }
    return GatewayTranslator.gatewayOf(ref.name()).map(gateway::equals).orElse(true);
  }

  protected final Resource resolve(ResourceRef ref) {
    if (!mayHold(ref)) {
      return null;
    }
    if (ref.isServerListener()) {
      return context.cache().serverListener(version.state(), ref, workload());
    }
    if (ref.isEnvoy() && ref.type() == ResourceType.LISTENER) {
      return switch (ref.name()) {
        case EnvoySidecarTranslator.INBOUND_LISTENER ->
            context.cache().envoyInbound(version.state(), workload());
        case EnvoySidecarTranslator.OUTBOUND_LISTENER ->
            context.cache().envoyOutbound(version.state(), egress, namespace);
        default -> context.cache().resolve(version.state(), ref); // a Gateway's, or none
      };
    }
    return context.cache().resolve(version.state(), ref);
  }

  /**
   * A fingerprint of a set of resources, names and contents: the sum of their mixed fingerprints,
   * so that adding or removing one updates it in constant time; equal content, equal fingerprint.
   */
  protected static long fingerprintOf(Resource resource) {
    return mix(resource.fingerprint());
  }

  /** Turns a sum of {@link #fingerprintOf} values over {@code count} resources into a hash. */
  protected static String contentHash(long sum, int count) {
    return HexFormat.of().toHexDigits(mix(sum ^ mix(count)));
  }

  /** The finalizer of MurmurHash3: spreads every input bit over the output. */
  private static long mix(long value) {
    long h = value;
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    h ^= h >>> 33;
    return h;
  }

  protected final void sent(Object response) {
    @SuppressWarnings("unchecked")
    ServerCallStreamObserver<Object> out = (ServerCallStreamObserver<Object>) responses;
    out.onNext(response);
  }

  /** Records what the proxy holds of a type; {@code resources} must not be modified after. */
  protected final void setHeld(ResourceType type, Resource[] resources) {
    held.put(type, resources);
  }

  protected final List<String> heldNames(ResourceType type) {
    return present(held.getOrDefault(type, new Resource[0])).stream()
        .map(Resource::name)
        .sorted()
        .toList();
  }

  private static List<Resource> present(Resource[] resources) {
    return Arrays.stream(resources).filter(Objects::nonNull).toList();
  }

  /** Ends the stream: stops watching and forgets it. Runs on the executor. */
  protected final void close() {
    if (closed) {
      return;
    }
    closed = true;
    context.watchers().remove(this, Arrays.asList(watched));
    context.proxies().remove(this);
    log.debug("stream {} of proxy {} closed", id, nodeId);
  }

  /**
   * Ends the stream from the control plane's side with UNAVAILABLE, which every xDS client takes as
   * "reconnect": on a graceful shutdown, its proxy reconnects to another replica (this one takes no
   * new streams by then) and keeps serving what it holds meanwhile. Completes {@code ended} once
   * the stream has ended.
   */
  final void end(String reason, CompletableFuture<Void> ended) {
    executor.execute(
        () -> {
          if (!closed) {
            close();
            try {
              responses.onError(Status.UNAVAILABLE.withDescription(reason).asRuntimeException());
            } catch (IllegalStateException e) {
              // Already cancelled by the client: nothing to answer.
            }
          }
          ended.complete(null);
        });
  }

  /** Closes after the client ended the stream, answering it in kind. */
  protected final void completed() {
    close();
    try {
      responses.onCompleted();
    } catch (IllegalStateException e) {
      // Already cancelled: nothing to answer.
    }
  }
}
