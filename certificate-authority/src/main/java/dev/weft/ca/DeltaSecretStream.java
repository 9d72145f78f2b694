package dev.weft.ca;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code DeltaSecrets} stream: incremental SDS, what Envoy uses with {@code api_type:
 * DELTA_GRPC}.
 *
 * <p>The protocol: {@code resource_names_subscribe} adds names and {@code
 * resource_names_unsubscribe} removes them, whatever the request's nonce. Each subscribed name is
 * sent (again, even unchanged: the client may have forgotten it), then whenever its version
 * changes; an unsubscribe is not answered. On a stream's first request {@code
 * initial_resource_versions} says what the client already holds, and a secret it holds at the
 * current version is not sent. A name this agent does not serve is answered at once in {@code
 * removed_resources}, xDS's "does not exist", and not remembered (it never comes to exist). ACKs
 * are not answered; a NACK ({@code error_detail}) is logged and nothing is sent again until the
 * secret changes. Secrets have no wildcard: a first request subscribing to nothing subscribes to
 * nothing, and {@code *} is a name like any other.
 *
 * <p>Thread-safety: requests arrive on the transport thread, new secrets on the agent's renewing
 * thread; every method is synchronized on this stream, and the response observer is called only
 * under that lock.
 */
final class DeltaSecretStream implements StreamObserver<DeltaDiscoveryRequest>, SdsService.Watcher {

  private static final Logger log = LoggerFactory.getLogger(DeltaSecretStream.class);

  private final ServerCallStreamObserver<DeltaDiscoveryResponse> responses;
  private final Consumer<SdsService.Watcher> onEnd;

  /** The newest secrets offered; null until the agent holds its first SVID, so requests wait. */
  private SdsSecrets latest;

  /** The served names subscribed to. */
  private final Set<String> subscribed = new HashSet<>();

  /** For each served name the client holds, the version it holds. */
  private final Map<String, String> held = new HashMap<>();

  private boolean first = true;
  private long responsesSent;
  private String node = "";
  private boolean unknownLogged;
  private boolean ended;

  DeltaSecretStream(
      ServerCallStreamObserver<DeltaDiscoveryResponse> responses,
      Consumer<SdsService.Watcher> onEnd) {
    this.responses = responses;
    this.onEnd = onEnd;
  }

  @Override
  public synchronized void onNext(DeltaDiscoveryRequest request) {
    if (ended) {
      return;
    }
    if (!SdsService.isSecretType(request.getTypeUrl())) {
      ended = true;
      responses.onError(SdsService.wrongType(request.getTypeUrl()));
      onEnd.accept(this);
      return;
    }
    if (first) {
      node = request.getNode().getId();
      log.debug("delta SDS stream from node {}", node);
      request
          .getInitialResourceVersionsMap()
          .forEach(
              (name, version) -> {
                if (SdsSecrets.serves(name)) {
                  held.put(name, version);
                }
              });
    }
    String nonce = request.getResponseNonce();
    if (!nonce.isEmpty() && request.hasErrorDetail()) {
      SdsService.logNack(node, nonce, "", request.getErrorDetail());
    }
    for (String name : request.getResourceNamesUnsubscribeList()) {
      subscribed.remove(name);
      held.remove(name);
    }
    Set<String> unknown = new LinkedHashSet<>();
    for (String name : request.getResourceNamesSubscribeList()) {
      if (!SdsSecrets.serves(name)) {
        unknown.add(name);
        continue;
      }
      subscribed.add(name);
      if (!first) {
        // Subscribed again: the client wants it sent even if it should hold it.
        held.remove(name);
      }
    }
    first = false;
    if (!unknown.isEmpty() && !unknownLogged) {
      unknownLogged = true;
      SdsService.logUnknown(node, unknown);
    }
    send(List.copyOf(unknown));
  }

  @Override
  public synchronized void offer(SdsSecrets secrets) {
    if (ended || (latest != null && secrets.generation() <= latest.generation())) {
      return;
    }
    latest = secrets;
    send(List.of());
  }

  /** Sends every subscribed secret the client does not hold at its current version, and these. */
  private void send(List<String> removed) {
    List<Resource> resources = new ArrayList<>();
    if (latest != null) {
      for (String name : SdsSecrets.NAMES) {
        SdsSecrets.Entry entry = latest.secrets().get(name);
        if (subscribed.contains(name) && !entry.version().equals(held.get(name))) {
          resources.add(
              Resource.newBuilder()
                  .setName(name)
                  .setVersion(entry.version())
                  .setResource(entry.resource())
                  .build());
          held.put(name, entry.version());
        }
      }
    }
    if (resources.isEmpty() && removed.isEmpty()) {
      return;
    }
    responses.onNext(
        DeltaDiscoveryResponse.newBuilder()
            .setSystemVersionInfo(latest == null ? "" : latest.version())
            .addAllResources(resources)
            .addAllRemovedResources(removed)
            .setTypeUrl(SdsSecrets.TYPE_URL)
            .setNonce(Long.toString(++responsesSent))
            .build());
  }

  @Override
  public synchronized void onError(Throwable t) {
    // The client went away (cancelled, reset): nothing to answer.
    ended = true;
    onEnd.accept(this);
  }

  @Override
  public synchronized void onCompleted() {
    if (!ended) {
      ended = true;
      responses.onCompleted();
      onEnd.accept(this);
    }
  }
}
