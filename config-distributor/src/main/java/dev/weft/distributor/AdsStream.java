package dev.weft.distributor;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.registry.ChangeSet;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.stub.ServerCallStreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
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
 * size. {@link #status()} and {@link #held()} are volatile immutable snapshots for other threads.
 */
abstract class AdsStream implements ConfigWatcher {

  private static final Logger log = LoggerFactory.getLogger(AdsStream.class);
  private static final AtomicLong IDS = new AtomicLong();

  protected final AdsContext context;
  protected final Executor executor;
  private final ServerCallStreamObserver<?> responses;
  private final String id;
  private final String peer;
  private final Instant connectedSince;
  private final Set<ServiceKey> watched = new HashSet<>();
  private boolean watchingAll;

  protected ConfigVersion version;
  protected boolean closed;
  private String nodeId = "";
  private String namespace = "";
  private String serviceAccount = "";
  private String pod = "";
  private volatile ProxyStatus status;
  private volatile Map<ResourceType, List<Resource>> held = Map.of();

  AdsStream(AdsContext context, ServerCallStreamObserver<?> responses, String peer) {
    this.context = context;
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
    publishStatus();
    context.proxies().add(this);
    context.watchers().add(this);
  }

  String id() {
    return id;
  }

  ProxyStatus status() {
    return status;
  }

  /** What the proxy holds, per type, as far as the stream knows. */
  Map<ResourceType, List<Resource>> held() {
    return held;
  }

  @Override
  public final void configChanged(ConfigVersion next, ChangeSet changes) {
    executor.execute(
        () -> {
          if (closed) {
            return;
          }
          boolean first = version == null;
          version = next;
          onConfig(first ? null : changes);
          flush();
          publishStatus();
        });
  }

  /**
   * Marks the types a change touches as needing a push; {@code changes} is null when this is the
   * first configuration the stream sees, which touches everything subscribed.
   */
  abstract void onConfig(ChangeSet changes);

  /** Sends what is due, if the transport can take it. */
  abstract void flush();

  abstract String protocol();

  abstract Map<String, ProxyStatus.TypeStatus> typeStatuses();

  /** Whether the transport can take a message now; when not, the ready handler flushes later. */
  protected final boolean ready() {
    return !closed && version != null && responses.isReady();
  }

  private void flushIfOpen() {
    if (!closed) {
      flush();
      publishStatus();
    }
  }

  /** Reads the proxy's identity from the first request's node. */
  protected final void identify(Node node) {
    if (!nodeId.isEmpty() || node == null || node.getId().isEmpty()) {
      return;
    }
    nodeId = node.getId();
    Struct metadata = node.getMetadata();
    namespace = text(metadata, "NAMESPACE");
    serviceAccount = text(metadata, "SERVICE_ACCOUNT");
    pod = text(metadata, "POD_NAME");
    log.debug("stream {} from {} is proxy {}", id, peer, nodeId);
  }

  private static String text(Struct metadata, String key) {
    Value value = metadata.getFieldsOrDefault(key, null);
    return value == null ? "" : value.getStringValue();
  }

  /** Watches exactly the Services the given resources refer to, and every change when needed. */
  protected final void watch(Collection<ResourceRef> refs, boolean all) {
    Set<ServiceKey> now = new HashSet<>();
    for (ResourceRef ref : refs) {
      if (ref.service() != null) {
        now.add(ref.service());
      }
    }
    for (ServiceKey service : now) {
      if (!watched.contains(service)) {
        context.watchers().watch(this, service);
      }
    }
    for (ServiceKey service : watched) {
      if (!now.contains(service)) {
        context.watchers().unwatch(this, service);
      }
    }
    watched.clear();
    watched.addAll(now);
    if (all && !watchingAll) {
      context.watchers().watchAll(this);
      watchingAll = true;
    }
  }

  /** Every resource of a type that exists, for a wildcard subscription, by canonical name. */
  protected final List<ResourceRef> wildcardRefs(ResourceType type) {
    List<ResourceRef> refs = new ArrayList<>();
    ResourceNames names = context.cache().names();
    for (var service : version.state().services().values()) {
      for (var port : service.ports()) {
        String name = names.canonical(service.key(), port.port());
        refs.add(new ResourceRef(type, name, service.key(), port.port(), null));
      }
    }
    refs.sort(java.util.Comparator.comparing(ResourceRef::name));
    return refs;
  }

  protected final Resource resolve(ResourceRef ref) {
    return context.cache().resolve(version.state(), ref);
  }

  /** A hash of the names and versions of a response's resources: equal content, equal hash. */
  protected static String contentHash(List<Resource> resources) {
    Hasher hasher = Hashing.sha256().newHasher();
    for (Resource resource : resources) {
      hasher.putString(resource.name(), StandardCharsets.UTF_8).putByte((byte) 0);
      hasher.putString(resource.version(), StandardCharsets.UTF_8).putByte((byte) '\n');
    }
    return hasher.hash().toString().substring(0, 16);
  }

  protected final void sent(Object response) {
    @SuppressWarnings("unchecked")
    ServerCallStreamObserver<Object> out = (ServerCallStreamObserver<Object>) responses;
    out.onNext(response);
  }

  protected final void setHeld(ResourceType type, List<Resource> resources) {
    Map<ResourceType, List<Resource>> copy = new EnumMap<>(ResourceType.class);
    copy.putAll(held);
    copy.put(type, List.copyOf(resources));
    held = Map.copyOf(copy);
  }

  protected final void publishStatus() {
    status =
        new ProxyStatus(
            id,
            nodeId,
            namespace,
            serviceAccount,
            pod,
            peer,
            protocol(),
            connectedSince,
            typeStatuses());
  }

  /** Ends the stream: stops watching and forgets it. Runs on the executor. */
  protected final void close() {
    if (closed) {
      return;
    }
    closed = true;
    context.watchers().remove(this, watched);
    context.proxies().remove(this);
    log.debug("stream {} of proxy {} closed", id, nodeId);
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
