package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import dev.weft.api.policy.MutualTlsMode;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import dev.weft.registry.MeshService;
import dev.weft.registry.ServicePort;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.access_loggers.grpc.v3.CommonGrpcAccessLogConfig;
import io.envoyproxy.envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What an Envoy sidecar gets that a proxyless gRPC client does not: its outbound Listener, and
 * clusters whose certificates come from the workload agent's SDS socket. Routes and endpoints are
 * the same resources proxyless clients get (a Service port's RouteConfiguration and
 * ClusterLoadAssignment, by canonical name), so they are built once for both. Pure functions.
 *
 * <p>The outbound Listener takes what iptables redirects to 15001 (see the injection webhook). The
 * original destination listener filter restores where the connection was going, and a filter chain
 * per Service port matches its cluster IPs and port: HTTP and gRPC ports through an HTTP connection
 * manager with the port's routes over ADS, other ports through {@code tcp_proxy} to its cluster.
 * Anything else passes through to where it was going.
 */
final class EnvoySidecarTranslator {

  /** The outbound Listener's name, the one Listener a sidecar gets by its wildcard LDS request. */
  static final String OUTBOUND_LISTENER = "weft/outbound";

  /** The port iptables redirects a Pod's outbound connections to. */
  static final int OUTBOUND_PORT = 15001;

  /** The cluster of traffic to destinations outside the mesh: to where it was going. */
  static final String PASSTHROUGH_CLUSTER = "weft/passthrough";

  /** The inbound Listener's name: what the workload serves, as its sidecar enforces it. */
  static final String INBOUND_LISTENER = "weft/inbound";

  /** The port iptables redirects a Pod's inbound connections to. */
  static final int INBOUND_PORT = 15006;

  private static final String INBOUND_CLUSTER_PREFIX = "inbound|";

  /**
   * One port the workload serves, as its sidecar receives it.
   *
   * @param port the workload's port (an endpoint's port)
   * @param http whether it speaks HTTP (gRPC included): then authorization applies per request
   * @param mode the strictest mutual TLS mode of the Services it serves there
   * @param authorization for an HTTP port, the RBAC filters of the AuthorizationPolicies of those
   *     Services; empty for a TCP port
   * @param rateLimits the local rate limit filters of the RateLimitPolicies of those Services (or
   *     of their ports served here)
   * @param connectionAuthorization for a TCP port, the network RBAC filters of those policies,
   *     which judge each connection; empty for an HTTP port
   */
  record InboundPort(
      int port,
      boolean http,
      MutualTlsMode mode,
      List<HttpFilter> authorization,
      List<HttpFilter> rateLimits,
      List<Filter> connectionAuthorization) {}

  /**
   * Application protocols and port name prefixes that mean HTTP (gRPC among them), as Kubernetes
   * and Istio users spell them; a port that says none of them is proxied as TCP.
   */
  private static final Set<String> HTTP_PROTOCOLS =
      Set.of("http", "http2", "h2c", "grpc", "grpc-web", "kubernetes.io/h2c", "kubernetes.io/ws");

  private static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  /**
   * The log name the telemetry collector reads inbound requests by (docs/telemetry.md): it takes
   * only this log, as the served side's report.
   */
  static final String INBOUND_ACCESS_LOG_NAME = "weft/inbound";

  /**
   * Each request an inbound HTTP port served, to the control plane's Access Log Service over the
   * bootstrap's ADS cluster: the served side of the golden metrics (the calling side comes from the
   * caller's stats, so only inbound is logged and no call is counted twice by one side). The {@code
   * grpc-status} trailer, or header of a trailers-only response, tells a gRPC error from its HTTP
   * 200.
   */
  private static final AccessLog INBOUND_ACCESS_LOG =
      AccessLog.newBuilder()
          .setName("envoy.access_loggers.http_grpc")
          .setTypedConfig(
              Any.pack(
                  HttpGrpcAccessLogConfig.newBuilder()
                      .setCommonConfig(
                          CommonGrpcAccessLogConfig.newBuilder()
                              .setLogName(INBOUND_ACCESS_LOG_NAME)
                              .setTransportApiVersion(ApiVersion.V3)
                              .setGrpcService(
                                  GrpcService.newBuilder()
                                      .setEnvoyGrpc(
                                          GrpcService.EnvoyGrpc.newBuilder()
                                              .setClusterName(EnvoyBootstrap.XDS_CLUSTER))))
                      .addAdditionalResponseHeadersToLog("grpc-status")
                      .addAdditionalResponseTrailersToLog("grpc-status")
                      .build()))
          .build();

  private EnvoySidecarTranslator() {}

  /**
   * The outbound Listener for a sidecar that sees {@code services}: the whole mesh's, or those of
   * its egress hosts. Connections to any other destination pass through.
   */
  static Listener outbound(Iterable<MeshService> services, ResourceNames names) {
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(OUTBOUND_LISTENER)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder()
                            .setAddress("0.0.0.0")
                            .setPortValue(OUTBOUND_PORT)))
            .setTrafficDirection(TrafficDirection.OUTBOUND)
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.original_dst")
                    .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
            .setDefaultFilterChain(
                FilterChain.newBuilder()
                    .setName(PASSTHROUGH_CLUSTER)
                    .addFilters(tcpProxy(PASSTHROUGH_CLUSTER)));
    for (MeshService service : services) {
      if (service.clusterIps().isEmpty()) {
        continue; // headless: its clients connect to Pod addresses, which pass through
      }
      for (ServicePort port : service.ports()) {
        if (!"TCP".equals(port.protocol())) {
          continue;
        }
        String cluster = names.canonical(service.key(), port.port());
        FilterChainMatch.Builder match =
            FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port.port()));
        for (String ip : service.clusterIps()) {
          match.addPrefixRanges(
              CidrRange.newBuilder()
                  .setAddressPrefix(ip)
                  .setPrefixLen(UInt32Value.of(ip.contains(":") ? 128 : 32)));
        }
        listener.addFilterChains(
            FilterChain.newBuilder()
                .setName(cluster)
                .setFilterChainMatch(match)
                .addFilters(isHttp(port) ? httpConnectionManager(cluster) : tcpProxy(cluster)));
      }
    }
    return listener.build();
  }

  /**
   * The inbound Listener on 15006: a filter chain per port the workload serves, whose TLS follows
   * the mode (STRICT: a client certificate of the mesh is required; PERMISSIVE: the TLS inspector
   * tells TLS from plaintext and both are served; DISABLE: plaintext), and whose HTTP ports carry
   * the RBAC filters of the Services' AuthorizationPolicies and the local rate limits of their
   * RateLimitPolicies before the router; TCP ports are neither authorized nor limited. Connections
   * go on to the workload on localhost ({@link #inboundCluster}).
   */
  static Listener inbound(List<InboundPort> ports) {
    Listener.Builder listener =
        Listener.newBuilder()
            .setName(INBOUND_LISTENER)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder()
                            .setAddress("0.0.0.0")
                            .setPortValue(INBOUND_PORT)))
            .setTrafficDirection(TrafficDirection.INBOUND)
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.original_dst")
                    .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())));
    boolean inspectsTls = false;
    for (InboundPort port : ports) {
      String cluster = inboundClusterName(port.port());
      List<Filter> filters = new ArrayList<>(port.connectionAuthorization());
      filters.add(
          port.http()
              ? inboundHttp(cluster, port.authorization(), port.rateLimits())
              : tcpProxy(cluster));
      FilterChainMatch.Builder match =
          FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port.port()));
      switch (port.mode()) {
        case STRICT ->
            listener.addFilterChains(
                FilterChain.newBuilder()
                    .setName(cluster)
                    .setFilterChainMatch(match)
                    .addAllFilters(filters)
                    .setTransportSocket(SecurityTranslator.downstreamFromSds()));
        case PERMISSIVE -> {
          inspectsTls = true;
          listener.addFilterChains(
              FilterChain.newBuilder()
                  .setName(cluster + "|tls")
                  .setFilterChainMatch(match.clone().setTransportProtocol("tls"))
                  .addAllFilters(filters)
                  .setTransportSocket(SecurityTranslator.downstreamFromSds()));
          listener.addFilterChains(
              FilterChain.newBuilder()
                  .setName(cluster + "|plaintext")
                  .setFilterChainMatch(match.clone().setTransportProtocol("raw_buffer"))
                  .addAllFilters(filters));
        }
        case DISABLE ->
            listener.addFilterChains(
                FilterChain.newBuilder()
                    .setName(cluster)
                    .setFilterChainMatch(match)
                    .addAllFilters(filters));
      }
    }
    if (inspectsTls) {
      listener.addListenerFilters(
          ListenerFilter.newBuilder()
              .setName("envoy.filters.listener.tls_inspector")
              .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
    }
    return listener.build();
  }

  /** The name of the cluster that takes a connection on to the workload's {@code port}. */
  /** A cluster's load assignment of one endpoint, {@code host:port}. */
  static ClusterLoadAssignment singleEndpoint(String cluster, String host, int port) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
        .addEndpoints(
            LocalityLbEndpoints.newBuilder()
                .addLbEndpoints(
                    LbEndpoint.newBuilder()
                        .setEndpoint(
                            Endpoint.newBuilder()
                                .setAddress(
                                    Address.newBuilder()
                                        .setSocketAddress(
                                            SocketAddress.newBuilder()
                                                .setAddress(host)
                                                .setPortValue(port))))))
        .build();
  }

  static String inboundClusterName(int port) {
    return INBOUND_CLUSTER_PREFIX + port;
  }

  /** The port an inbound cluster's name ends with, or -1 for any other name. */
  static int inboundPort(String clusterName) {
    if (!clusterName.startsWith(INBOUND_CLUSTER_PREFIX)) {
      return -1;
    }
    String digits = clusterName.substring(INBOUND_CLUSTER_PREFIX.length());
    if (digits.isEmpty()
        || digits.length() > 5
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    int port = Integer.parseInt(digits);
    return port >= 1 && port <= 65535 ? port : -1;
  }

  /**
   * The workload's {@code port} on localhost: where its sidecar hands each connection it accepted.
   * (A workload that listens only on its Pod IP is not reached this way; Istio moved to the Pod IP
   * from a reserved source address for that, which Weft's redirection does not do yet.)
   */
  static Cluster inboundCluster(int port) {
    String name = inboundClusterName(port);
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(5))
        .setLoadAssignment(singleEndpoint(name, "127.0.0.1", port))
        .build();
  }

  private static Filter inboundHttp(
      String cluster, List<HttpFilter> authorization, List<HttpFilter> rateLimits) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(cluster)
            .setRouteConfig(Translator.everythingTo(cluster))
            .addAllHttpFilters(authorization)
            // After authorization: a request RBAC refuses takes no token, so callers that may not
            // call at all cannot use up the allowed callers' share. Before the router, which
            // forwards.
            .addAllHttpFilters(rateLimits)
            .addHttpFilters(Translator.ROUTER_FILTER)
            .setNormalizePath(BoolValue.of(true))
            .addAccessLog(INBOUND_ACCESS_LOG)
            .build();
    return Filter.newBuilder()
        .setName(Translator.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(manager))
        .build();
  }

  /** The cluster of traffic that leaves the mesh: to the connection's original destination. */
  static Cluster passthrough() {
    return Cluster.newBuilder()
        .setName(PASSTHROUGH_CLUSTER)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(5))
        .build();
  }

  /** Whether a port speaks HTTP (gRPC included), by its appProtocol or else its name. */
  static boolean isHttp(ServicePort port) {
    String declared = port.appProtocol().toLowerCase(Locale.ROOT);
    if (!declared.isEmpty()) {
      return HTTP_PROTOCOLS.contains(declared);
    }
    String name = port.name().toLowerCase(Locale.ROOT);
    int dash = name.indexOf('-');
    return HTTP_PROTOCOLS.contains(dash < 0 ? name : name.substring(0, dash));
  }

  private static Filter httpConnectionManager(String routeName) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(routeName)
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
            .addHttpFilters(Translator.FAULT_FILTER)
            .addHttpFilters(Translator.ROUTER_FILTER)
            // Envoy normalizes the path before routing, as route matches expect.
            .setNormalizePath(BoolValue.of(true))
            .build();
    return Filter.newBuilder()
        .setName(Translator.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(manager))
        .build();
  }

  private static Filter tcpProxy(String cluster) {
    return Filter.newBuilder()
        .setName("envoy.filters.network.tcp_proxy")
        .setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }
}
