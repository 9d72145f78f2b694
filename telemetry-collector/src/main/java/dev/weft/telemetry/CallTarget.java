package dev.weft.telemetry;

import java.util.Locale;
import java.util.Optional;

/**
 * Where a client's calls went, as grpc-java reports it: the channel's target ({@code grpc.target},
 * for example {@code xds:///greeter.default.svc.cluster.local:8080}, {@code dns:///host:port} or a
 * bare {@code host:port}) and, for xDS channels that report it, the cluster that served them
 * ({@code grpc.lb.backend_service}). Envoy's reports name a target the same way: its Metrics
 * Service stats only the cluster, which is then both the target and the backend service; its access
 * log the request's authority ({@code greeter.default:8080}), with no cluster.
 *
 * @param target the target exactly as reported
 * @param host the host name in the target, lower case; empty when the target names none
 * @param port the port in the target, or -1
 * @param backendService the xDS cluster, when reported
 */
public record CallTarget(String target, String host, int port, Optional<String> backendService) {

  /** Reads host and port from a gRPC target string; never throws. */
  public static CallTarget parse(String target, Optional<String> backendService) {
    String address = target;
    int scheme = target.indexOf("://");
    if (scheme > 0) {
      // scheme://authority/endpoint: grpc's resolvers (dns, xds) put the name in the endpoint.
      String rest = target.substring(scheme + 3);
      int slash = rest.indexOf('/');
      address = slash < 0 ? rest : rest.substring(slash + 1);
      if (address.isEmpty() && slash > 0) {
        address = rest.substring(0, slash);
      }
    }
    String host = address;
    int port = -1;
    int colon = address.lastIndexOf(':');
    if (colon > 0 && address.indexOf(']') < colon) {
      try {
        port = Integer.parseInt(address.substring(colon + 1));
        host = address.substring(0, colon);
      } catch (NumberFormatException notAPort) {
        port = -1;
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new CallTarget(target, host.toLowerCase(Locale.ROOT), port, backendService);
  }
}
