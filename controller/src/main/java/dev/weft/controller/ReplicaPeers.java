package dev.weft.controller;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.json.JsonMapper;

/**
 * This replica's calls to the others' HTTP API, for what only they know: the proxies connected to
 * them, and what those hold. All peers are asked at once and each gets {@code timeout}; a peer that
 * does not answer in time, or answers with an error, is reported with the reason, never waited for
 * longer. Calls carry this replica's own Kubernetes token, which the debug API's TokenReview lets
 * in (it is the control plane's ServiceAccount).
 *
 * <p>Standalone, and with a single replica, there are no peers and no calls.
 *
 * <p>Thread-safety: the JDK's HTTP client is safe to share; the set of replicas last reported as
 * not answering, for the log, is volatile (a race only logs a line twice).
 */
final class ReplicaPeers {

  private static final Logger log = LoggerFactory.getLogger(ReplicaPeers.class);

  /** What the peers asked said: answers by replica, and why the others did not answer. */
  record Answers<T>(int asked, Map<String, T> answered, Map<String, String> unanswered) {
    static <T> Answers<T> none() {
      return new Answers<>(0, Map.of(), Map.of());
    }
  }

  private final String identity;
  private final Supplier<List<ReplicaLeases.Peer>> peers;
  private final Supplier<String> token;
  private final Duration timeout;
  private final JsonMapper json;
  private final HttpClient http;
  private volatile Set<String> lastUnanswered = Set.of();

  /**
   * @param identity this replica's
   * @param peers the other replicas, as their Leases say
   * @param token this replica's bearer token for the others' debug API; empty: none
   */
  ReplicaPeers(
      String identity,
      Supplier<List<ReplicaLeases.Peer>> peers,
      Supplier<String> token,
      Duration timeout,
      JsonMapper json) {
    this.identity = identity;
    this.peers = peers;
    this.token = token;
    this.timeout = timeout;
    this.json = json;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  /** A process with no peers: standalone. */
  static ReplicaPeers none(String identity, JsonMapper json) {
    return new ReplicaPeers(identity, List::of, () -> "", Duration.ofSeconds(1), json);
  }

  String identity() {
    return identity;
  }

  /**
   * Asks every peer {@code path} (with {@code body}, a POST; without, a GET), in parallel, and
   * reads each answer as {@code type}. Returns once all have answered or timed out.
   */
  <T> Answers<T> ask(String path, Object body, JavaType type) {
    List<ReplicaLeases.Peer> current = peers.get();
    if (current.isEmpty()) {
      return Answers.none();
    }
    String bearer = token.get();
    Map<String, CompletableFuture<T>> calls = new LinkedHashMap<>();
    Map<String, String> unanswered = new LinkedHashMap<>();
    for (ReplicaLeases.Peer peer : current) {
      if (peer.address().isEmpty()) {
        unanswered.put(peer.identity(), "its Lease has no peer address");
        continue;
      }
      HttpRequest request;
      try {
        HttpRequest.Builder builder =
            HttpRequest.newBuilder(URI.create(stripSlash(peer.address()) + path))
                .timeout(timeout)
                .header("Accept", "application/json");
        if (!bearer.isEmpty()) {
          builder.header("Authorization", "Bearer " + bearer);
        }
        if (body != null) {
          builder
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
        }
        request = builder.build();
      } catch (IllegalArgumentException e) {
        unanswered.put(peer.identity(), "its peer address " + peer.address() + " is not a URL");
        continue;
      }
      calls.put(
          peer.identity(),
          http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
              .thenApply(response -> this.<T>read(response, type))
              // The request's timeout ends at the headers; this bounds the body too.
              .orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS));
    }
    Map<String, T> answered = new LinkedHashMap<>();
    for (Map.Entry<String, CompletableFuture<T>> call : calls.entrySet()) {
      try {
        // Each request has its own timeout, so this returns within about one of them.
        answered.put(call.getKey(), call.getValue().join());
      } catch (CompletionException e) {
        unanswered.put(call.getKey(), reason(e.getCause()));
      }
    }
    // Passes repeat every 200 ms while a replica does not answer: INFO when that changes only.
    if (!unanswered.keySet().equals(lastUnanswered)) {
      lastUnanswered = Set.copyOf(unanswered.keySet());
      log.info(
          "replicas that did not answer {}: {}", path, unanswered.isEmpty() ? "none" : unanswered);
    } else if (!unanswered.isEmpty()) {
      log.debug("replicas that did not answer {}: {}", path, unanswered);
    }
    return new Answers<>(current.size(), answered, unanswered);
  }

  private <T> T read(HttpResponse<byte[]> response, JavaType type) {
    if (response.statusCode() != 200) {
      throw new PeerException(
          "HTTP "
              + response.statusCode()
              + ": "
              + new String(response.body(), StandardCharsets.UTF_8).strip());
    }
    try {
      return json.readValue(response.body(), type);
    } catch (JacksonException e) {
      throw new PeerException("an answer that is not what Weft sends: " + e.getOriginalMessage());
    }
  }

  private String reason(Throwable failure) {
    if (failure instanceof PeerException peer) {
      return peer.getMessage();
    }
    if (failure instanceof HttpTimeoutException || failure instanceof TimeoutException) {
      return "no answer within " + timeout.toMillis() + " ms";
    }
    if (failure instanceof ConnectException) {
      return "connection refused";
    }
    if (failure instanceof IOException) {
      return failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.toString();
    }
    return failure.toString();
  }

  private static String stripSlash(String address) {
    return address.endsWith("/") ? address.substring(0, address.length() - 1) : address;
  }

  /** A peer's answer that is not one. */
  private static final class PeerException extends RuntimeException {
    PeerException(String message) {
      super(message);
    }
  }

  /** A list of the names and reasons, for a header or a message. */
  static String describe(Map<String, String> unanswered) {
    List<String> parts = new ArrayList<>();
    unanswered.forEach((replica, reason) -> parts.add(replica + " (" + reason + ")"));
    return String.join("; ", parts);
  }
}
