package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshService;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServicePort;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Translates the registry's values into Envoy v3 resources for proxyless gRPC clients and servers.
 * Pure functions: the same inputs give byte-identical resources, so versions can be content hashes.
 * Thread-safe: stateless.
 */
final class Translator {

  static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  static final String ROUTER = "envoy.filters.http.router";

  static final String HTTP_PROTOCOL_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  /** Application protocols spoken over HTTP/2 (Kubernetes' appProtocol values and common ones). */
  private static final Set<String> HTTP2_APP_PROTOCOLS =
      Set.of("grpc", "http2", "h2c", "kubernetes.io/h2c");

  /** The port of a cluster whose Service is not known: nothing about its protocol is known. */
  static final ServicePort UNKNOWN_PORT = new ServicePort("", "TCP", "", 0, "");

  /** Envoy's default; gRPC ignores it. */
  private static final Duration CONNECT_TIMEOUT = Duration.newBuilder().setSeconds(5).build();

  private static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  /**
   * The fault filter, doing nothing unless a route's per-filter config (from a FaultPolicy) says
   * otherwise; gRPC applies a per-route override only for a filter the listener has.
   */
  static final HttpFilter FAULT_FILTER =
      HttpFilter.newBuilder()
          .setName(PolicyTranslator.FAULT_FILTER)
          .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance()))
          .build();

  static final HttpFilter ROUTER_FILTER =
      HttpFilter.newBuilder()
          .setName(ROUTER)
          .setTypedConfig(Any.pack(Router.getDefaultInstance()))
          .build();

  private Translator() {}

  /**
   * A client Listener: an API listener whose HTTP connection manager fetches {@code routeName} over
   * ADS, with the router as its last (and only) filter.
   */
  static Listener clientListener(String name, String routeName) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(name)
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
            .addHttpFilters(FAULT_FILTER)
            .addHttpFilters(ROUTER_FILTER)
            .build();
    return Listener.newBuilder()
        .setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager)))
        .build();
  }

  /** A RouteConfiguration named after {@code cluster} that sends every request to it. */
  static RouteConfiguration everythingTo(String cluster) {
    return RouteConfiguration.newBuilder()
        .setName(cluster)
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName(cluster)
                .addDomains("*")
                .addRoutes(
                    Route.newBuilder()
                        .setMatch(RouteMatch.newBuilder().setPrefix(""))
                        .setRoute(RouteAction.newBuilder().setCluster(cluster))))
        .build();
  }

  /**
   * The Listener served for a client name that is not in the mesh. The xDS state-of-the-world
   * protocol has no way to say "does not exist" for a name just asked for, and gRPC waits 15
   * seconds before concluding it from silence. This Listener is a whole configuration whose every
   * call fails at once: one route for any host and method, to the cluster {@link
   * ResourceNames#notInMeshCluster}, which has no endpoints, so each call ends with UNAVAILABLE
   * naming that cluster (and so the name asked for). A configuration that merely routes nowhere (no
   * virtual host, or one without routes) fails calls in grpc-java, but grpc-js-xds (1.14) turns it
   * into a resolution error that its channel never hands to calls that are waiting for a first
   * configuration: they wait out their deadline. When the Service appears, the real Listener
   * replaces this one.
   */
  static Listener unknownClientListener(String name) {
    String cluster = ResourceNames.notInMeshCluster(name);
    RouteConfiguration everyCallFails = everythingTo(cluster);
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            // Not the name asked for: a client may ask for "", and Envoy refuses an empty prefix.
            .setStatPrefix(cluster)
            .setRouteConfig(everyCallFails)
            .addHttpFilters(ROUTER_FILTER)
            .build();
    return Listener.newBuilder()
        .setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager)))
        .build();
  }

  /**
   * A cluster whose endpoints come from EDS over ADS, balanced round robin. A port whose {@code
   * appProtocol} is HTTP/2 (gRPC among them) gets explicit HTTP/2 upstream options, which Envoy
   * needs to reach it (proxyless gRPC speaks HTTP/2 anyway and ignores them).
   */
  static Cluster cluster(String name, ServicePort port, AttachedPolicies policies) {
    Cluster.Builder cluster =
        Cluster.newBuilder()
            .setName(name)
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(
                Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(name))
            .setConnectTimeout(CONNECT_TIMEOUT)
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
    if (HTTP2_APP_PROTOCOLS.contains(port.appProtocol())) {
      cluster.putTypedExtensionProtocolOptions(
          HTTP_PROTOCOL_OPTIONS,
          Any.pack(
              HttpProtocolOptions.newBuilder()
                  .setExplicitHttpConfig(
                      HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                          .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                  .build()));
    }
    PolicyTranslator.applyToCluster(cluster, policies.traffic());
    return cluster.build();
  }

  /**
   * The endpoints of a Service port, grouped into one locality per zone (sorted, so the output is
   * deterministic). A locality's weight is its number of endpoints, so traffic spreads evenly per
   * endpoint; gRPC drops a locality without a weight. Ready endpoints are healthy, terminating ones
   * draining, others unhealthy: only healthy endpoints receive traffic.
   *
   * <p>With a {@code preferredZone} (locality failover, for a proxy in that zone), the zone's
   * endpoints are priority 0 and every other zone's priority 1: gRPC and Envoy send calls to the
   * lowest priority that has healthy endpoints, and move to the next as soon as it has none, or
   * none they can reach. A zone with no ready endpoint counts as absent, so the others are priority
   * 0 (priorities must start at 0 with no gap) and a proxy does not wait for a priority that cannot
   * serve.
   */
  static ClusterLoadAssignment loadAssignment(
      String name,
      MeshService service,
      ServicePort port,
      ServiceEndpoints endpoints,
      String preferredZone) {
    List<Endpoint> ofPort = endpoints.forPort(port.name());
    boolean prefer =
        !preferredZone.isEmpty()
            && ofPort.stream().anyMatch(e -> e.ready() && e.zone().equals(preferredZone));
    Map<String, LocalityLbEndpoints.Builder> byZone = new TreeMap<>();
    for (Endpoint endpoint : ofPort) {
      LocalityLbEndpoints.Builder locality =
          byZone.computeIfAbsent(
              endpoint.zone(),
              zone ->
                  LocalityLbEndpoints.newBuilder()
                      .setLocality(Locality.newBuilder().setZone(zone))
                      .setPriority(prefer && !zone.equals(preferredZone) ? 1 : 0));
      locality.addLbEndpoints(
          LbEndpoint.newBuilder()
              .setEndpoint(
                  io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                      .setAddress(socketAddress(endpoint.address(), endpoint.port())))
              .setHealthStatus(health(endpoint)));
    }
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(name);
    for (LocalityLbEndpoints.Builder locality : byZone.values()) {
      locality.setLoadBalancingWeight(UInt32Value.of(Math.max(1, locality.getLbEndpointsCount())));
      assignment.addEndpoints(locality);
    }
    return assignment.build();
  }

  private static HealthStatus health(Endpoint endpoint) {
    if (endpoint.conditions().ready()) {
      return HealthStatus.HEALTHY;
    }
    return endpoint.conditions().terminating() ? HealthStatus.DRAINING : HealthStatus.UNHEALTHY;
  }

  /**
   * A Listener for an xDS-enabled gRPC server (gRFC A36) on {@code ip:port}: one filter chain whose
   * connection manager routes every request to the server itself, after the {@code authorization}
   * filters (gRFC A41; none when no policy applies); with {@code mutualTls}, the chain requires a
   * client certificate from the mesh (gRFC A29).
   */
  static Listener serverListener(
      String name, String ip, int port, boolean mutualTls, List<HttpFilter> authorization) {
    RouteConfiguration inbound =
        RouteConfiguration.newBuilder()
            .setName("inbound|" + port)
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("inbound|" + port)
                    .addDomains("*")
                    .addRoutes(
                        Route.newBuilder()
                            .setMatch(RouteMatch.newBuilder().setPrefix(""))
                            .setNonForwardingAction(NonForwardingAction.getDefaultInstance())))
            .build();
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("inbound|" + port)
            .setRouteConfig(inbound)
            .addAllHttpFilters(authorization)
            .addHttpFilters(ROUTER_FILTER)
            .build();
    FilterChain.Builder chain =
        FilterChain.newBuilder()
            .setName("inbound|" + port)
            .addFilters(
                Filter.newBuilder()
                    .setName(HTTP_CONNECTION_MANAGER)
                    .setTypedConfig(Any.pack(manager)));
    if (mutualTls) {
      chain.setTransportSocket(SecurityTranslator.downstream());
    }
    return Listener.newBuilder()
        .setName(name)
        .setAddress(socketAddress(ip, port))
        .setTrafficDirection(TrafficDirection.INBOUND)
        .addFilterChains(chain)
        .build();
  }

  private static Address socketAddress(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  /** The port of {@code service} a client target names, if it has it. */
  static ServicePort portOf(MeshService service, int port) {
    List<ServicePort> ports = service.ports();
    if (port == ResourceNames.ClientTarget.ONLY_PORT) {
      return ports.size() == 1 ? ports.get(0) : null;
    }
    return service.port(port).orElse(null);
  }
}
