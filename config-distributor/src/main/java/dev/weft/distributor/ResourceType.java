package dev.weft.distributor;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The xDS resource types Weft serves, in the order a change is pushed: clusters before their
 * endpoints, listeners before their routes, so a proxy never holds a reference to a resource it has
 * not been sent yet (make before break).
 */
public enum ResourceType {
  CLUSTER("type.googleapis.com/envoy.config.cluster.v3.Cluster", StateOfTheWorld.FULL),
  ENDPOINT(
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      StateOfTheWorld.REQUESTED),
  LISTENER("type.googleapis.com/envoy.config.listener.v3.Listener", StateOfTheWorld.FULL),
  ROUTE("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", StateOfTheWorld.REQUESTED),
  /** Certificates a Gateway's HTTPS listeners serve (SDS over ADS); only Gateways get any. */
  SECRET(
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
      StateOfTheWorld.REQUESTED);

  /**
   * What a proxyless gRPC client subscribes to: every type but Secrets, which only Gateways get.
   */
  public static final List<ResourceType> PROXYLESS = List.of(CLUSTER, ENDPOINT, LISTENER, ROUTE);

  /**
   * What a state-of-the-world response of the type means: for clusters and listeners it is the full
   * set the proxy holds (one left out is deleted); for endpoints and routes, only what it carries.
   */
  enum StateOfTheWorld {
    FULL,
    REQUESTED
  }

  private final String typeUrl;
  private final StateOfTheWorld stateOfTheWorld;

  ResourceType(String typeUrl, StateOfTheWorld stateOfTheWorld) {
    this.typeUrl = typeUrl;
    this.stateOfTheWorld = stateOfTheWorld;
  }

  public String typeUrl() {
    return typeUrl;
  }

  boolean fullStateOfTheWorld() {
    return stateOfTheWorld == StateOfTheWorld.FULL;
  }

  /** The type with this URL, if Weft serves it. */
  public static Optional<ResourceType> ofTypeUrl(String typeUrl) {
    return Arrays.stream(values()).filter(t -> t.typeUrl.equals(typeUrl)).findFirst();
  }
}
