package dev.weft.ca;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code StreamSecrets} stream: state-of-the-world SDS, what Envoy uses with {@code api_type:
 * GRPC}.
 *
 * <p>The protocol, as xDS defines it for a type other than Listener and Cluster: each request names
 * every secret the client wants; a response carries only the secrets that are new to the client
 * (newly named, or changed since it was sent), under {@code version_info} of the whole set, and the
 * client keeps the others. A request whose {@code response_nonce} is not the latest one sent is
 * stale and ignored (the client answers the newer response with its current names). An ACK names
 * what it already has, so nothing is sent. A NACK ({@code error_detail}) is logged and nothing is
 * sent again: the rejected secret would be rejected again; the next renewal sends a new one.
 * Secrets have no wildcard (xDS defines one for Listener and Cluster only): an empty list asks for
 * nothing and {@code *} is a name like any other. A name this agent does not serve is never
 * answered (the state-of-the-world protocol has no "does not exist"; the client times out on it)
 * and does not disturb the names it does serve.
 *
 * <p>Thread-safety: requests arrive on the transport thread, new secrets on the agent's renewing
 * thread; every method is synchronized on this stream, and the response observer is called only
 * under that lock.
 */
final class SotwSecretStream implements StreamObserver<DiscoveryRequest>, SdsService.Watcher {

  private static final Logger log = LoggerFactory.getLogger(SotwSecretStream.class);

  private final ServerCallStreamObserver<DiscoveryResponse> responses;
  private final Consumer<SdsService.Watcher> onEnd;

  /** The newest secrets offered; null until the agent holds its first SVID, so requests wait. */
  private SdsSecrets latest;

  /** The served names the client's latest request named. */
  private Set<String> subscribed = Set.of();

  /** For each subscribed name sent, the version sent; a name sent again when it is dropped. */
  private final Map<String, String> sent = new HashMap<>();

  private String lastNonce = "";
  private long responsesSent;
  private String node = "";
  private boolean unknownLogged;
  private boolean ended;

  SotwSecretStream(
      ServerCallStreamObserver<DiscoveryResponse> responses, Consumer<SdsService.Watcher> onEnd) {
    this.responses = responses;
    this.onEnd = onEnd;
  }

  @Override
  public synchronized void onNext(DiscoveryRequest request) {
    if (ended) {
      return;
    }
    if (!SdsService.isSecretType(request.getTypeUrl())) {
      ended = true;
      responses.onError(SdsService.wrongType(request.getTypeUrl()));
      onEnd.accept(this);
      return;
    }
    if (request.hasNode() && node.isEmpty()) {
      node = request.getNode().getId();
      log.debug("SDS stream from node {}", node);
    }
    String nonce = request.getResponseNonce();
    if (!nonce.isEmpty() && !nonce.equals(lastNonce)) {
      return;
    }
    if (!nonce.isEmpty() && request.hasErrorDetail()) {
      SdsService.logNack(node, nonce, request.getVersionInfo(), request.getErrorDetail());
    }
    Set<String> served = new HashSet<>();
    List<String> unknown = new ArrayList<>();
    for (String name : request.getResourceNamesList()) {
      if (SdsSecrets.serves(name)) {
        served.add(name);
      } else {
        unknown.add(name);
      }
    }
    if (!unknown.isEmpty() && !unknownLogged) {
      unknownLogged = true;
      SdsService.logUnknown(node, unknown);
    }
    // A name no longer asked for is forgotten, so asking for it again sends it again, as xDS
    // requires even when it has not changed.
    sent.keySet().retainAll(served);
    subscribed = Set.copyOf(served);
    sendNew();
  }

  @Override
  public synchronized void offer(SdsSecrets secrets) {
    if (ended || (latest != null && secrets.generation() <= latest.generation())) {
      return;
    }
    latest = secrets;
    sendNew();
  }

  private void sendNew() {
    if (latest == null) {
      return;
    }
    List<Any> resources = new ArrayList<>();
    for (String name : SdsSecrets.NAMES) {
      SdsSecrets.Entry entry = latest.secrets().get(name);
      if (subscribed.contains(name) && !entry.version().equals(sent.get(name))) {
        resources.add(entry.resource());
        sent.put(name, entry.version());
      }
    }
    if (resources.isEmpty()) {
      return;
    }
    lastNonce = Long.toString(++responsesSent);
    responses.onNext(
        DiscoveryResponse.newBuilder()
            .setVersionInfo(latest.version())
            .addAllResources(resources)
            .setTypeUrl(SdsSecrets.TYPE_URL)
            .setNonce(lastNonce)
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
