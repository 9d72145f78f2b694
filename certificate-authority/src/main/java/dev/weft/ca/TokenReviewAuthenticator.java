package dev.weft.ca;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Checks a ServiceAccount token with the API server's TokenReview, and remembers the answer
 * briefly, so that a burst of requests with one token (a workload retrying, or a flood of one bad
 * token) costs the API server one review:
 *
 * <ul>
 *   <li>accepted: {@link #ACCEPTED_FOR} (10 s). This is how long a token the API server has just
 *       invalidated (its pod or ServiceAccount deleted) can still get a certificate; next to the
 *       certificate's own lifetime (1 h by default) it adds nothing that matters.
 *   <li>refused: {@link #REFUSED_FOR} (5 s). A token the API server refused does not become valid
 *       later (tokens are only ever invalidated), so this only bounds memory and the odd case of a
 *       clock skewed past a token's not-before; a workload retrying waits that long at worst.
 *   <li>not reviewable (the API server unreachable): not remembered, the next request asks again.
 * </ul>
 *
 * <p>Entries are keyed by the token's SHA-256, never the token itself; at most {@link #MAX_ENTRIES}
 * are kept. Concurrent requests with the same token wait for the one review in flight.
 *
 * <p>Thread-safety: the cache is Caffeine's, thread-safe; everything else is immutable.
 */
final class TokenReviewAuthenticator implements Authenticator {

  static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  static final Duration ACCEPTED_FOR = Duration.ofSeconds(10);
  static final Duration REFUSED_FOR = Duration.ofSeconds(5);

  /** About 2 MB at most: a hash, a small result and Caffeine's bookkeeping per entry. */
  static final int MAX_ENTRIES = 10_000;

  private final KubernetesClient client;
  private final List<String> audiences;
  private final AsyncCache<String, AuthResult> reviews;

  TokenReviewAuthenticator(KubernetesClient client, List<String> audiences) {
    this(client, audiences, Ticker.systemTicker());
  }

  /** With {@code ticker} timing the cache: for tests. */
  TokenReviewAuthenticator(KubernetesClient client, List<String> audiences, Ticker ticker) {
    this.client = client;
    this.audiences = List.copyOf(audiences);
    this.reviews =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .maximumSize(MAX_ENTRIES)
            .expireAfter(Expiry.<String, AuthResult>writing((hash, result) -> cachedFor(result)))
            .buildAsync();
  }

  private static Duration cachedFor(AuthResult result) {
    if (result instanceof AuthResult.Authenticated) {
      return ACCEPTED_FOR;
    }
    return result instanceof AuthResult.Refused ? REFUSED_FOR : Duration.ZERO;
  }

  @Override
  public AuthResult authenticate(CallerCredentials credentials) {
    if (credentials.bearerToken().isEmpty()) {
      return AuthResult.notPresented();
    }
    String token = credentials.bearerToken().get();
    CompletableFuture<AuthResult> mine = new CompletableFuture<>();
    CompletableFuture<AuthResult> answer = reviews.get(hash(token), (hash, executor) -> mine);
    if (answer == mine) {
      // The review runs here, outside the cache's locks; others with this token wait for it.
      try {
        mine.complete(review(token));
      } catch (RuntimeException e) {
        mine.completeExceptionally(e);
      }
    }
    try {
      return answer.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException cause ? cause : e;
    }
  }

  private AuthResult review(String token) {
    TokenReview review =
        new TokenReviewBuilder()
            .withNewSpec()
            .withToken(token)
            .withAudiences(audiences.isEmpty() ? null : audiences)
            .endSpec()
            .build();
    TokenReviewStatus status;
    try {
      status = client.authentication().v1().tokenReviews().create(review).getStatus();
    } catch (KubernetesClientException e) {
      return new AuthResult.Unavailable(
          "the token cannot be reviewed now (" + e.getMessage() + "); retry");
    }
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String why = status == null || status.getError() == null ? "" : ": " + status.getError();
      return new AuthResult.Refused("token", "not accepted by the Kubernetes API server" + why);
    }
    if (!audiences.isEmpty()
        && (status.getAudiences() == null
            || status.getAudiences().stream().noneMatch(audiences::contains))) {
      return new AuthResult.Refused("token", "is not bound to the audience " + audiences);
    }
    String user = status.getUser() == null ? "" : status.getUser().getUsername();
    String[] parts =
        user.startsWith(SERVICE_ACCOUNT_PREFIX)
            ? user.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", -1)
            : new String[0];
    if (parts.length != 2) {
      return new AuthResult.Refused(
          "token", "belongs to '" + user + "', not to a Kubernetes ServiceAccount");
    }
    try {
      return new AuthResult.Authenticated(new WorkloadIdentity(parts[0], parts[1]));
    } catch (IllegalArgumentException e) {
      return new AuthResult.Refused("token", e.getMessage());
    }
  }

  private static String hash(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
