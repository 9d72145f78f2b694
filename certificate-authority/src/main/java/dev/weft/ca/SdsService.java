package dev.weft.ca;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's {@code SecretDiscoveryService} over the agent's SVIDs: streams of both protocol variants
 * ({@link SotwSecretStream}, {@link DeltaSecretStream}) and {@code FetchSecrets}. Each SVID the
 * agent publishes ({@link #accept}) becomes one {@link SdsSecrets}, offered to every open stream
 * and held fetch. Until the first, streams and fetches wait: no response ever carries an empty
 * certificate.
 *
 * <p>{@code FetchSecrets} answers with the named secrets it serves, at once; a request whose {@code
 * version_info} is the current version waits for the next one, as a REST long poll does.
 *
 * <p>At most {@code maxCalls} streams and waiting fetches at once; more are refused with
 * RESOURCE_EXHAUSTED.
 *
 * <p>Thread-safety: {@code lock} guards the newest secrets together with the set of watchers, so a
 * stream or fetch that opens while new secrets are published gets them from the publisher or from
 * its own read, never from neither; secrets are offered outside the lock, and each watcher keeps
 * the newest generation only.
 */
final class SdsService extends SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase
    implements Consumer<SvidWithKey> {

  private static final Logger log = LoggerFactory.getLogger(SdsService.class);

  /** A client's error message is logged up to this length: enough to tell what it rejected. */
  private static final int MAX_LOGGED_ERROR = 500;

  /** A stream or a waiting fetch: takes new secrets. */
  interface Watcher {
    void offer(SdsSecrets secrets);
  }

  private final int maxCalls;
  private final Object lock = new Object();
  private final Set<Watcher> watchers = new HashSet<>();
  private SdsSecrets latest;
  private long generations;

  SdsService(int maxCalls) {
    this.maxCalls = maxCalls;
  }

  /** A new SVID from the agent: its secrets go to every stream and waiting fetch. */
  @Override
  public void accept(SvidWithKey svid) {
    SdsSecrets secrets;
    List<Watcher> targets;
    synchronized (lock) {
      secrets = SdsSecrets.of(++generations, svid);
      latest = secrets;
      targets = List.copyOf(watchers);
    }
    for (Watcher watcher : targets) {
      watcher.offer(secrets);
    }
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamSecrets(
      StreamObserver<DiscoveryResponse> observer) {
    var responses = (ServerCallStreamObserver<DiscoveryResponse>) observer;
    SotwSecretStream stream = new SotwSecretStream(responses, this::remove);
    return open(stream, responses) ? stream : new Ignored<>();
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaSecrets(
      StreamObserver<DeltaDiscoveryResponse> observer) {
    var responses = (ServerCallStreamObserver<DeltaDiscoveryResponse>) observer;
    DeltaSecretStream stream = new DeltaSecretStream(responses, this::remove);
    return open(stream, responses) ? stream : new Ignored<>();
  }

  @Override
  public void fetchSecrets(DiscoveryRequest request, StreamObserver<DiscoveryResponse> observer) {
    if (!isSecretType(request.getTypeUrl())) {
      observer.onError(wrongType(request.getTypeUrl()));
      return;
    }
    var responses = (ServerCallStreamObserver<DiscoveryResponse>) observer;
    Fetch fetch = new Fetch(request, responses);
    open(fetch, responses);
  }

  /** Registers a watcher and gives it the newest secrets, or refuses it when there are too many. */
  private boolean open(Watcher watcher, ServerCallStreamObserver<?> responses) {
    // Set now, while gRPC still allows it: a send after cancellation is then dropped, not thrown.
    responses.setOnCancelHandler(() -> remove(watcher));
    SdsSecrets now = null;
    boolean admitted;
    synchronized (lock) {
      admitted = watchers.size() < maxCalls;
      if (admitted) {
        watchers.add(watcher);
        now = latest;
      }
    }
    if (!admitted) {
      log.warn("SDS call refused: {} streams and waiting fetches already", maxCalls);
      responses.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription("the workload agent serves at most " + maxCalls + " SDS streams")
              .asRuntimeException());
      return false;
    }
    if (now != null) {
      watcher.offer(now);
    }
    return true;
  }

  private void remove(Watcher watcher) {
    synchronized (lock) {
      watchers.remove(watcher);
    }
  }

  static boolean isSecretType(String typeUrl) {
    // A stream of one type may leave it out; Envoy sends it.
    return typeUrl.isEmpty() || SdsSecrets.TYPE_URL.equals(typeUrl);
  }

  static StatusRuntimeException wrongType(String typeUrl) {
    return Status.INVALID_ARGUMENT
        .withDescription(
            "the Secret Discovery Service serves " + SdsSecrets.TYPE_URL + ", not " + typeUrl)
        .asRuntimeException();
  }

  static void logNack(String node, String nonce, String version, com.google.rpc.Status error) {
    String message = error.getMessage();
    if (message.length() > MAX_LOGGED_ERROR) {
      message = message.substring(0, MAX_LOGGED_ERROR) + "...";
    }
    log.warn(
        "node {} rejected the secrets of SDS response {} (it keeps version '{}'): {}",
        node,
        nonce,
        version,
        message);
  }

  static void logUnknown(String node, Collection<String> names) {
    log.debug(
        "node {} asks for secrets {}; this agent serves only {} (logged once per stream)",
        node,
        names,
        SdsSecrets.NAMES);
  }

  /**
   * One {@code FetchSecrets} call, answered once: at once if it can be, else when the next secrets
   * come. Thread-safety: {@link #offer} is synchronized and answers only once.
   */
  private final class Fetch implements Watcher {
    private final DiscoveryRequest request;
    private final ServerCallStreamObserver<DiscoveryResponse> responses;
    private boolean answered;

    Fetch(DiscoveryRequest request, ServerCallStreamObserver<DiscoveryResponse> responses) {
      this.request = request;
      this.responses = responses;
    }

    @Override
    public synchronized void offer(SdsSecrets secrets) {
      List<Any> resources = new ArrayList<>();
      for (String name : SdsSecrets.NAMES) {
        if (request.getResourceNamesList().contains(name)) {
          resources.add(secrets.secrets().get(name).resource());
        }
      }
      boolean current = secrets.version().equals(request.getVersionInfo());
      if (answered || (current && !resources.isEmpty())) {
        return;
      }
      answered = true;
      remove(this);
      responses.onNext(
          DiscoveryResponse.newBuilder()
              .setVersionInfo(secrets.version())
              .addAllResources(resources)
              .setTypeUrl(SdsSecrets.TYPE_URL)
              .build());
      responses.onCompleted();
    }
  }

  /** The requests of a refused stream. */
  private static final class Ignored<T> implements StreamObserver<T> {
    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
