package dev.weft.telemetry;

/**
 * One edge of the service graph over a window: the calls a source workload made to a destination
 * service's version, as the clients reported them.
 *
 * @param requests calls in the window
 * @param errors calls that ended with a gRPC status other than OK
 * @param requestsPerSecond {@code requests} over the window's length
 * @param errorRatio {@code errors / requests}
 * @param p50Millis median latency, interpolated within the histogram's bucket
 * @param p99Millis 99th percentile latency, interpolated within the histogram's bucket
 */
public record EdgeStats(
    Edge edge,
    long requests,
    long errors,
    double requestsPerSecond,
    double errorRatio,
    double p50Millis,
    double p99Millis) {

  /**
   * Who called what.
   *
   * @param connectionSecurity {@code mutual_tls}, {@code none} or {@code unknown}
   */
  public record Edge(
      String sourceWorkload,
      String sourceNamespace,
      String destinationService,
      String destinationVersion,
      String connectionSecurity) {}
}
