package dev.weft.controller;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
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
import java.util.Optional;

/**
 * Who may read Weft's debug API in a cluster, where it lists every Pod address, ServiceAccount and
 * label of the mesh: callers with a Kubernetes token (a ServiceAccount's, or a user's, as {@code
 * kubectl create token} gives) that the API server's TokenReview accepts, and whose identity is one
 * of the allowed ServiceAccounts or in one of the allowed groups.
 *
 * <p>A verdict is cached for a short while by the token's SHA-256 (never the token), so that a
 * debug page polled every second costs one review per {@link #CACHE_FOR}, and a flood of one bad
 * token costs one review.
 *
 * <p>Thread-safety: the cache is Caffeine's; the rest is immutable.
 */
final class DebugAccess {

  /** Short: a revoked token stops working within this long. */
  static final Duration CACHE_FOR = Duration.ofSeconds(10);

  private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  /** A caller's verdict: allowed (with who it is), or refused with the reason. */
  sealed interface Verdict {
    record Allowed(String user) implements Verdict {}

    record Refused(int httpStatus, String reason) implements Verdict {}
  }

  private final KubernetesClient client;
  private final List<String> serviceAccounts;
  private final List<String> groups;
  private final Cache<String, Verdict> verdicts;

  /**
   * @param serviceAccounts allowed ServiceAccounts, as {@code namespace/name}
   * @param groups allowed groups, such as {@code system:masters}
   */
  DebugAccess(
      KubernetesClient client, List<String> serviceAccounts, List<String> groups, Ticker ticker) {
    this.client = client;
    this.serviceAccounts = List.copyOf(serviceAccounts);
    this.groups = List.copyOf(groups);
    this.verdicts =
        Caffeine.newBuilder()
            .expireAfterWrite(CACHE_FOR)
            .maximumSize(10_000)
            .ticker(ticker)
            .build();
  }

  /** The verdict on a request's {@code Authorization} header (null when it has none). */
  Verdict check(String authorization) {
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      return new Verdict.Refused(
          401,
          "the debug API needs a Kubernetes token: Authorization: Bearer $(kubectl create token"
              + " <service account>)");
    }
    String token = authorization.substring("Bearer ".length()).strip();
    Verdict cached = verdicts.getIfPresent(hash(token));
    if (cached != null) {
      return cached;
    }
    Optional<Verdict> verdict = review(token);
    // An API server that cannot answer now is not a verdict on the token: not cached.
    verdict.ifPresent(v -> verdicts.put(hash(token), v));
    return verdict.orElseGet(
        () -> new Verdict.Refused(503, "the API server cannot review the token now; retry"));
  }

  private Optional<Verdict> review(String token) {
    TokenReviewStatus status;
    try {
      TokenReview review =
          client
              .authentication()
              .v1()
              .tokenReviews()
              .create(new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build());
      status = review.getStatus();
    } catch (KubernetesClientException e) {
      return Optional.empty();
    }
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      return Optional.of(
          new Verdict.Refused(
              401,
              "the token is not valid"
                  + (status == null || status.getError() == null ? "" : ": " + status.getError())));
    }
    String user = status.getUser() == null ? "" : status.getUser().getUsername();
    List<String> userGroups =
        status.getUser() == null || status.getUser().getGroups() == null
            ? List.of()
            : status.getUser().getGroups();
    if (user.startsWith(SERVICE_ACCOUNT_PREFIX)
        && serviceAccounts.contains(
            user.substring(SERVICE_ACCOUNT_PREFIX.length()).replace(':', '/'))) {
      return Optional.of(new Verdict.Allowed(user));
    }
    if (userGroups.stream().anyMatch(groups::contains)) {
      return Optional.of(new Verdict.Allowed(user));
    }
    return Optional.of(
        new Verdict.Refused(
            403,
            user
                + " may not read the debug API: allow its ServiceAccount in"
                + " weft.http.debug-service-accounts or one of its groups in"
                + " weft.http.debug-groups"));
  }

  private static String hash(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is in every JDK", e);
    }
  }
}
