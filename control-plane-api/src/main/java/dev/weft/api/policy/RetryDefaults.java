package dev.weft.api.policy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The retry policy a Service's routes get unless a route sets its own.
 *
 * @param attempts retries after the first attempt; 0 means no retries
 * @param perTryTimeout the timeout of each attempt; empty for none
 * @param timeout the timeout of the whole call; empty for none
 * @param backoff the base interval of exponential backoff
 * @param httpCodes HTTP statuses that are retried
 * @param grpcStatuses gRPC status names (such as {@code UNAVAILABLE}) that are retried
 */
public record RetryDefaults(
    int attempts,
    Optional<Duration> perTryTimeout,
    Optional<Duration> timeout,
    Duration backoff,
    List<Integer> httpCodes,
    List<String> grpcStatuses) {

  // Envoy's default base interval.
  static final Duration DEFAULT_BACKOFF = Duration.ofMillis(25);
  // When a policy names no status at all: the one status that says "try another endpoint".
  static final List<Integer> DEFAULT_HTTP_CODES = List.of(503);
  static final List<String> DEFAULT_GRPC_STATUSES = List.of("UNAVAILABLE");

  public RetryDefaults {
    Objects.requireNonNull(perTryTimeout, "perTryTimeout");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(backoff, "backoff");
    httpCodes = List.copyOf(httpCodes);
    grpcStatuses = List.copyOf(grpcStatuses);
  }
}
