package dev.weft.registry;

/**
 * The conditions of an endpoint, with Kubernetes' defaults applied: an unset {@code ready} means
 * ready, an unset {@code serving} means the same as ready, an unset {@code terminating} means not
 * terminating. There are eight possible values, shared rather than allocated per endpoint.
 */
public record EndpointConditions(boolean ready, boolean serving, boolean terminating) {

  private static final EndpointConditions[] SHARED = new EndpointConditions[8];

  static {
    for (int i = 0; i < 8; i++) {
      SHARED[i] = new EndpointConditions((i & 1) != 0, (i & 2) != 0, (i & 4) != 0);
    }
  }

  /** Returns the shared instance for these conditions, applying Kubernetes' defaults to nulls. */
  public static EndpointConditions of(Boolean ready, Boolean serving, Boolean terminating) {
    boolean isReady = ready == null || ready;
    boolean isServing = serving == null ? isReady : serving;
    boolean isTerminating = terminating != null && terminating;
    return SHARED[(isReady ? 1 : 0) | (isServing ? 2 : 0) | (isTerminating ? 4 : 0)];
  }
}
