package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import dev.weft.registry.model.MeshGateway;
import dev.weft.registry.model.MeshGatewayClass;
import dev.weft.registry.model.MeshRoute;
import dev.weft.registry.model.RoutePrecedence;
import dev.weft.registry.model.RouteRule;
import dev.weft.registry.model.TlsCredential;
import dev.weft.registry.model.WeightedBackend;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a Gateway's Envoy gets: a Listener per port of the Gateway, HTTP through an HTTP connection
 * manager, HTTPS terminated with the certificate of the listener's Secret (served over SDS on the
 * same ADS stream), and RouteConfigurations built from the HTTPRoutes that attach to the Gateway,
 * with the Gateway API's hostname intersection and route precedence. Their backends are the mesh's
 * Envoy clusters, the ones sidecars get, so a Gateway reaches the mesh over mutual TLS as any
 * sidecar does. Pure functions of a snapshot.
 *
 * <p>Every resource of a Gateway is named under {@code weft/gateway/<namespace>/<name>/}, so that a
 * name means the same to every proxy (resolutions are shared by name), and a Gateway's Envoy can be
 * refused what belongs to another.
 */
final class GatewayTranslator {

  /** The prefix of every Listener and RouteConfiguration name of a Gateway. */
  static final String PREFIX = "weft/gateway/";

  /** The prefix of the SDS names of Secrets, as Istio names them: {@code kubernetes://ns/name}. */
  static final String SECRET_PREFIX = "kubernetes://";

  private static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  private GatewayTranslator() {}

  /**
   * One Gateway as its Envoy sees it, resolved against a snapshot.
   *
   * @param listeners Listener resources, by name
   * @param routes RouteConfiguration resources, by name
   * @param clusters the canonical cluster names its routes forward (or mirror) to
   * @param secrets the SDS names of the Secrets its HTTPS listeners serve
   */
  record View(
      SortedMap<String, Listener> listeners,
      SortedMap<String, RouteConfiguration> routes,
      SortedSet<String> clusters,
      Set<String> secrets) {
    static final View NONE = new View(new TreeMap<>(), new TreeMap<>(), new TreeSet<>(), Set.of());
  }

  /**
   * The view of Gateway {@code namespace/name}, or {@link View#NONE} when there is no such Gateway
   * or its class is not Weft's (another controller's Gateway is none of Weft's business).
   */
  static View view(MeshState state, String namespace, String name, ResourceNames names) {
    MeshGateway gateway =
        state
            .config(new ObjectKey(ResourceKind.GATEWAY, namespace, name))
            .flatMap(MeshConfig::gateway)
            .filter(MeshGateway.class::isInstance)
            .map(MeshGateway.class::cast)
            .orElse(null);
    if (gateway == null || !isWeft(state, gateway.className())) {
      return View.NONE;
    }
    List<MeshRoute> routes = routesOf(state, gateway);
    String prefix = PREFIX + gateway.namespacedName() + "/";
    SortedMap<String, Listener> listeners = new TreeMap<>();
    SortedMap<String, RouteConfiguration> routeConfigurations = new TreeMap<>();
    SortedSet<String> clusters = new TreeSet<>();
    Set<String> secrets = new TreeSet<>();
    Map<Integer, List<MeshGateway.Listener>> byPort = new TreeMap<>();
    for (MeshGateway.Listener listener : gateway.listeners()) {
      byPort.computeIfAbsent(listener.port(), p -> new ArrayList<>()).add(listener);
    }
    for (Map.Entry<Integer, List<MeshGateway.Listener>> port : byPort.entrySet()) {
      String listenerName = prefix + port.getKey();
      Listener.Builder envoyListener =
          Listener.newBuilder()
              .setName(listenerName)
              .setAddress(
                  Address.newBuilder()
                      .setSocketAddress(
                          SocketAddress.newBuilder()
                              .setAddress("0.0.0.0")
                              .setPortValue(port.getKey())))
              .setTrafficDirection(TrafficDirection.INBOUND);
      boolean https = port.getValue().get(0).protocol() == MeshGateway.Protocol.HTTPS;
      if (https) {
        // SNI picks the listener (and so its certificate and routes) before TLS is terminated.
        envoyListener.addListenerFilters(
            ListenerFilter.newBuilder()
                .setName("envoy.filters.listener.tls_inspector")
                .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
        for (MeshGateway.Listener listener : port.getValue()) {
          String routeName = listenerName + "/" + listener.name();
          routeConfigurations.put(
              routeName, routeConfiguration(routeName, List.of(listener), gateway, routes, names));
          FilterChainMatch.Builder match = FilterChainMatch.newBuilder();
          listener.hostname().ifPresent(match::addServerNames);
          List<String> sdsNames = new ArrayList<>();
          for (String secret : listener.certificates()) {
            sdsNames.add(secretName(gateway.namespace(), secret));
          }
          secrets.addAll(sdsNames);
          envoyListener.addFilterChains(
              FilterChain.newBuilder()
                  .setName(routeName)
                  .setFilterChainMatch(match)
                  .setTransportSocket(terminatingTls(sdsNames))
                  .addFilters(httpConnectionManager(routeName)));
        }
      } else {
        routeConfigurations.put(
            listenerName,
            routeConfiguration(listenerName, port.getValue(), gateway, routes, names));
        envoyListener.addFilterChains(
            FilterChain.newBuilder()
                .setName(listenerName)
                .addFilters(httpConnectionManager(listenerName)));
      }
      listeners.put(listenerName, envoyListener.build());
    }
    for (MeshRoute route : routes) {
      for (RouteRule rule : route.rules()) {
        for (WeightedBackend backend : rule.backends()) {
          clusters.add(names.canonical(backend.service(), backend.port()));
        }
        for (RouteRule.Mirror mirror : rule.mirrors()) {
          clusters.add(names.canonical(mirror.backend().service(), mirror.backend().port()));
        }
      }
    }
    return new View(listeners, routeConfigurations, clusters, Set.copyOf(secrets));
  }

  /** The SDS name of a Secret: {@code kubernetes://<namespace>/<name>}. */
  static String secretName(String namespace, String name) {
    return SECRET_PREFIX + namespace + "/" + name;
  }

  /**
   * The SDS Secret for {@code sdsName}, or null when no valid TLS Secret has that name. Whether the
   * proxy asking may have it is the stream's to decide (only the Gateway that serves it may).
   */
  static Secret secret(MeshState state, String sdsName) {
    if (!sdsName.startsWith(SECRET_PREFIX)) {
      return null;
    }
    String path = sdsName.substring(SECRET_PREFIX.length());
    int slash = path.indexOf('/');
    if (slash <= 0 || slash == path.length() - 1) {
      return null;
    }
    return state
        .config(
            new ObjectKey(ResourceKind.SECRET, path.substring(0, slash), path.substring(slash + 1)))
        .flatMap(MeshConfig::gateway)
        .filter(TlsCredential.class::isInstance)
        .map(TlsCredential.class::cast)
        .map(
            credential ->
                Secret.newBuilder()
                    .setName(sdsName)
                    .setTlsCertificate(
                        TlsCertificate.newBuilder()
                            .setCertificateChain(
                                DataSource.newBuilder()
                                    .setInlineString(credential.certificateChainPem()))
                            .setPrivateKey(
                                DataSource.newBuilder()
                                    .setInlineString(credential.privateKeyPem())))
                    .build())
        .orElse(null);
  }

  private static boolean isWeft(MeshState state, String className) {
    return state
        .config(new ObjectKey(ResourceKind.GATEWAY_CLASS, "", className))
        .flatMap(MeshConfig::gateway)
        .filter(MeshGatewayClass.class::isInstance)
        .map(MeshGatewayClass.class::cast)
        .map(MeshGatewayClass::isWeft)
        .orElse(false);
  }

  /** The HTTPRoutes with {@code gateway} among their parents. */
  private static List<MeshRoute> routesOf(MeshState state, MeshGateway gateway) {
    List<MeshRoute> routes = new ArrayList<>();
    for (MeshConfig config : state.configs().values()) {
      if (config.key().kind() != ResourceKind.HTTP_ROUTE || config.route().isEmpty()) {
        continue;
      }
      MeshRoute route = config.route().get();
      for (MeshRoute.GatewayParent parent : route.gateways()) {
        if (parent.namespace().equals(gateway.namespace())
            && parent.name().equals(gateway.name())) {
          routes.add(route);
          break;
        }
      }
    }
    return routes;
  }

  /**
   * The routes of {@code listeners} (all on one port): a virtual host per host name the routes and
   * listeners intersect on, each with the attached rules in the Gateway API's precedence.
   */
  private static RouteConfiguration routeConfiguration(
      String name,
      List<MeshGateway.Listener> listeners,
      MeshGateway gateway,
      List<MeshRoute> routes,
      ResourceNames names) {
    Map<String, List<MeshRoute>> byHost = new TreeMap<>();
    for (MeshGateway.Listener listener : listeners) {
      for (MeshRoute route : routes) {
        for (String host : gateway.hostsOf(route, listener)) {
          List<MeshRoute> onHost = byHost.computeIfAbsent(host, h -> new ArrayList<>());
          if (!onHost.contains(route)) {
            onHost.add(route);
          }
        }
      }
    }
    RouteConfiguration.Builder configuration = RouteConfiguration.newBuilder().setName(name);
    for (Map.Entry<String, List<MeshRoute>> entry : byHost.entrySet()) {
      VirtualHost.Builder host =
          VirtualHost.newBuilder().setName(entry.getKey()).addDomains(entry.getKey());
      for (RoutePrecedence.Entry rule : RoutePrecedence.order(entry.getValue())) {
        host.addRoutes(RouteTranslator.route(rule, names));
      }
      configuration.addVirtualHosts(host);
    }
    return configuration.build();
  }

  private static Filter httpConnectionManager(String routeName) {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(routeName)
            .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
            .addHttpFilters(Translator.ROUTER_FILTER)
            .setNormalizePath(BoolValue.of(true))
            // Virtual hosts match host names; a Host header's port must not defeat that.
            .setStripAnyHostPort(true)
            .setUseRemoteAddress(BoolValue.of(true))
            .build();
    return Filter.newBuilder()
        .setName(Translator.HTTP_CONNECTION_MANAGER)
        .setTypedConfig(Any.pack(manager))
        .build();
  }

  /** TLS terminated with the listener's certificates, fetched over ADS by their SDS names. */
  private static TransportSocket terminatingTls(List<String> sdsNames) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder().addAlpnProtocols("h2");
    common.addAlpnProtocols("http/1.1");
    for (String sdsName : sdsNames) {
      common.addTlsCertificateSdsSecretConfigs(
          SdsSecretConfig.newBuilder().setName(sdsName).setSdsConfig(ADS));
    }
    DownstreamTlsContext context =
        DownstreamTlsContext.newBuilder()
            .setCommonTlsContext(common)
            .setRequireClientCertificate(BoolValue.of(false))
            .build();
    return TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls")
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /** The Gateway a port's Listener or RouteConfiguration name belongs to, as {@code ns/name}. */
  static Optional<String> gatewayOf(String resourceName) {
    if (!resourceName.startsWith(PREFIX)) {
      return Optional.empty();
    }
    String[] parts = resourceName.substring(PREFIX.length()).split("/", -1);
    return parts.length >= 3 ? Optional.of(parts[0] + "/" + parts[1]) : Optional.empty();
  }
}
