package dev.weft.telemetry;

/**
 * The gRPC status a call that Envoy saw only as an HTTP status stands for, by gRPC's own mapping
 * (grpc/doc/http-grpc-status-mapping.md): what a gRPC client reports when a response carries no
 * {@code grpc-status}. A status below 400 is a success, as Envoy's and Istio's error rates count
 * it. Pure functions.
 */
final class HttpOutcomes {

  private static final int OK = 0;
  private static final int UNKNOWN = 2;
  private static final int PERMISSION_DENIED = 7;
  private static final int UNIMPLEMENTED = 12;
  private static final int INTERNAL = 13;
  private static final int UNAVAILABLE = 14;
  private static final int UNAUTHENTICATED = 16;

  private HttpOutcomes() {}

  /** The gRPC status of an HTTP response {@code code}; 0 (no response) is UNKNOWN. */
  static int grpcStatusOf(int code) {
    if (code >= 100 && code < 400) {
      return OK;
    }
    return switch (code) {
      case 400 -> INTERNAL;
      case 401 -> UNAUTHENTICATED;
      case 403 -> PERMISSION_DENIED;
      case 404 -> UNIMPLEMENTED;
      case 429, 502, 503, 504 -> UNAVAILABLE;
      default -> UNKNOWN;
    };
  }

  /**
   * The gRPC status of a response class (1 for {@code 1xx} ... 5 for {@code 5xx}), where only the
   * class is known: success below 4, else UNKNOWN (the class does not say which mapping applies).
   */
  static int grpcStatusOfClass(int responseClass) {
    return responseClass < 4 ? OK : UNKNOWN;
  }
}
