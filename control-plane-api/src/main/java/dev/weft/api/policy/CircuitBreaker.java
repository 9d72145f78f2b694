package dev.weft.api.policy;

/**
 * Limits on the traffic one proxy sends to a Service; calls past a limit fail at once. A limit the
 * policy leaves out is Envoy's default (1024, and 3 retries), so that leaving it out and writing
 * the default mean the same.
 */
public record CircuitBreaker(
    int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {

  static final int DEFAULT_LIMIT = 1024;
  static final int DEFAULT_MAX_RETRIES = 3;
}
