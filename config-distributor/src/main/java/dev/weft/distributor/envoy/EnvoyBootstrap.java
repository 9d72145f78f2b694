package dev.weft.distributor.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import dev.weft.distributor.Bootstrap;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.DynamicResources;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig;
import io.envoyproxy.envoy.config.metrics.v3.StatsSink;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bootstrap of an Envoy proxy in the mesh: who it is (the node Weft reads its identity, role
 * and egress hosts from), ADS to Weft (delta by default, as sidecars use it), its stats to Weft's
 * Metrics Service over the same cluster, its certificates from the workload agent's SDS socket, and
 * an admin interface on localhost only.
 *
 * <p>Built as Envoy's own {@code envoy.config.bootstrap.v3.Bootstrap} and printed as JSON (a subset
 * of YAML), so it is what {@code envoy -c} or {@code --config-yaml} takes and every field is one
 * Envoy knows.
 */
public final class EnvoyBootstrap {

  /** The cluster ADS streams go through. */
  public static final String XDS_CLUSTER = "xds-grpc";

  /** The cluster of the workload agent's SDS socket. */
  public static final String SDS_CLUSTER = "sds-grpc";

  /** The agent's SDS secret holding the workload's certificate chain and key. */
  public static final String CERTIFICATE_SECRET = "default";

  /** The agent's SDS secret holding the mesh's trust bundle. */
  public static final String TRUST_BUNDLE_SECRET = "ROOTCA";

  /** Where the agent serves SDS in an injected Pod: a volume the two containers share. */
  public static final Path DEFAULT_SDS_SOCKET = Path.of("/var/run/weft/sds/socket");

  /** Envoy's admin port, bound to localhost: it can change anything and has no authentication. */
  public static final int ADMIN_PORT = 15000;

  /** Node metadata keys Weft reads back (the same as in gRPC bootstraps, plus Envoy's own). */
  static final String PROXY_TYPE_KEY = "PROXY_TYPE";

  static final String INSTANCE_IPS_KEY = "INSTANCE_IPS";
  static final String LABELS_KEY = "LABELS";

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(HttpProtocolOptions.getDescriptor())
                  .add(MetricsServiceConfig.getDescriptor())
                  .build());

  /**
   * How often Envoy sends its stats to Weft's Metrics Service (its own default is 5 s): each flush
   * carries every stat the proxy has used, so a longer interval halves the load; 10 s is what the
   * OpenTelemetry SDK's OTLP exporter of proxyless workloads is usually given too.
   */
  public static final Duration DEFAULT_STATS_FLUSH_INTERVAL = Duration.ofSeconds(10);

  private EnvoyBootstrap() {}

  /** What the proxy does: a workload's sidecar, or a Gateway's proxy. */
  public enum ProxyType {
    SIDECAR("sidecar"),
    GATEWAY("gateway");

    private final String metadataValue;

    ProxyType(String metadataValue) {
      this.metadataValue = metadataValue;
    }

    /** The value of the node's {@code PROXY_TYPE} metadata. */
    public String metadataValue() {
      return metadataValue;
    }
  }

  /**
   * The proxy to bootstrap.
   *
   * @param type sidecar or gateway
   * @param workload namespace, service account, Pod and zone, as gRPC bootstraps carry them
   * @param podIp the Pod's IP address, for the inbound listener; may be empty (a webhook passes
   *     {@code $(POD_IP)}, which the kubelet expands in a container's arguments)
   * @param labels the Pod's labels: which Services select it
   * @param egress the Services a sidecar's workload calls ({@link EgressHosts}); empty: the whole
   *     mesh
   */
  public record Proxy(
      ProxyType type,
      Bootstrap.Workload workload,
      String podIp,
      Map<String, String> labels,
      List<EgressHosts.Host> egress) {
    public Proxy {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(workload, "workload");
      podIp = podIp == null ? "" : podIp;
      labels = Map.copyOf(labels);
      egress = List.copyOf(egress);
    }

    /** A proxy that sees the whole mesh. */
    public Proxy(
        ProxyType type, Bootstrap.Workload workload, String podIp, Map<String, String> labels) {
      this(type, workload, podIp, labels, List.of());
    }
  }

  /**
   * How the proxy reaches Weft.
   *
   * @param host the control plane's host name or address
   * @param port its xDS port: the CA's port (mutual TLS) or the plaintext port
   * @param mutualTls with the certificates from the agent's SDS socket, and the control plane's
   *     SPIFFE ID to require of its certificate; empty for plaintext
   * @param delta whether ADS is delta (incremental), as sidecars use it, or state of the world
   * @param statsFlushInterval how often the proxy sends its stats to the control plane's Metrics
   *     Service (docs/telemetry.md); empty: it sends none (the telemetry collector is off)
   */
  public record ControlPlane(
      String host,
      int port,
      Optional<ControlPlaneTls> mutualTls,
      boolean delta,
      Optional<Duration> statsFlushInterval) {
    public ControlPlane {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("the control plane's host is required");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be between 1 and 65535: " + port);
      }
      Objects.requireNonNull(mutualTls, "mutualTls");
      Objects.requireNonNull(statsFlushInterval, "statsFlushInterval");
      statsFlushInterval.ifPresent(
          interval -> {
            // Envoy's own bounds on stats_flush_interval.
            if (interval.toMillis() < 1 || interval.compareTo(Duration.ofDays(1)) >= 0) {
              throw new IllegalArgumentException(
                  "statsFlushInterval must be at least 1ms and under a day: " + interval);
            }
          });
    }

    /**
     * A control plane whose telemetry collector takes stats every {@link
     * #DEFAULT_STATS_FLUSH_INTERVAL}.
     */
    public ControlPlane(String host, int port, Optional<ControlPlaneTls> mutualTls, boolean delta) {
      this(host, port, mutualTls, delta, Optional.of(DEFAULT_STATS_FLUSH_INTERVAL));
    }
  }

  /**
   * Mutual TLS to the control plane.
   *
   * @param controlPlaneSpiffeId the only identity the proxy accepts from the control plane
   * @param sdsSocket the workload agent's SDS socket
   */
  public record ControlPlaneTls(String controlPlaneSpiffeId, Path sdsSocket) {
    public ControlPlaneTls {
      if (controlPlaneSpiffeId == null || !controlPlaneSpiffeId.startsWith("spiffe://")) {
        throw new IllegalArgumentException(
            "controlPlaneSpiffeId must be a spiffe:// ID: " + controlPlaneSpiffeId);
      }
      Objects.requireNonNull(sdsSocket, "sdsSocket");
    }
  }

  /** The bootstrap as Envoy's message. */
  public static io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap of(
      Proxy proxy, ControlPlane controlPlane) {
    StaticResources.Builder clusters =
        StaticResources.newBuilder().addClusters(xdsCluster(controlPlane));
    controlPlane.mutualTls().ifPresent(tls -> clusters.addClusters(sdsCluster(tls.sdsSocket())));
    ConfigSource ads =
        ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance())
            .setResourceApiVersion(ApiVersion.V3)
            .build();
    io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.Builder bootstrap =
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.newBuilder()
            .setNode(node(proxy))
            .setStaticResources(clusters)
            .setDynamicResources(
                DynamicResources.newBuilder()
                    .setAdsConfig(
                        ApiConfigSource.newBuilder()
                            .setApiType(
                                controlPlane.delta()
                                    ? ApiConfigSource.ApiType.DELTA_GRPC
                                    : ApiConfigSource.ApiType.GRPC)
                            .setTransportApiVersion(ApiVersion.V3)
                            .setSetNodeOnFirstMessageOnly(true)
                            .addGrpcServices(grpcService(XDS_CLUSTER)))
                    .setLdsConfig(ads)
                    .setCdsConfig(ads))
            .setAdmin(
                Admin.newBuilder().setAddress(socketAddress("127.0.0.1", ADMIN_PORT)).build());
    controlPlane
        .statsFlushInterval()
        .ifPresent(
            interval ->
                bootstrap
                    .setStatsFlushInterval(Durations.fromMillis(interval.toMillis()))
                    .addStatsSinks(metricsService()));
    return bootstrap.build();
  }

  /**
   * Envoy's stats to the control plane's Metrics Service, over the ADS cluster (so with the same
   * mutual TLS identity). Counters go as totals (Envoy's default), which the collector turns into
   * deltas; stat names go whole, not tag-extracted: Envoy's default tag extraction cuts a cluster
   * name at its first dot, and Weft's clusters are named by host names.
   */
  private static StatsSink metricsService() {
    return StatsSink.newBuilder()
        .setName("envoy.stat_sinks.metrics_service")
        .setTypedConfig(
            Any.pack(
                MetricsServiceConfig.newBuilder()
                    .setTransportApiVersion(ApiVersion.V3)
                    .setGrpcService(grpcService(XDS_CLUSTER))
                    .build()))
        .build();
  }

  /** The bootstrap as JSON, for {@code envoy -c FILE} or {@code envoy --config-yaml TEXT}. */
  public static String json(Proxy proxy, ControlPlane controlPlane) {
    try {
      return JSON.print(of(proxy, controlPlane));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the bootstrap's typed configs are registered", e);
    }
  }

  private static Node node(Proxy proxy) {
    Bootstrap.Workload workload = proxy.workload();
    Struct.Builder metadata =
        Struct.newBuilder()
            .putFields("NAMESPACE", text(workload.namespace()))
            .putFields("SERVICE_ACCOUNT", text(workload.serviceAccount()))
            .putFields(PROXY_TYPE_KEY, text(proxy.type().metadataValue()));
    if (!workload.pod().isEmpty()) {
      metadata.putFields("POD_NAME", text(workload.pod()));
    }
    if (!proxy.podIp().isEmpty()) {
      metadata.putFields(INSTANCE_IPS_KEY, text(proxy.podIp()));
    }
    if (!proxy.egress().isEmpty()) {
      ListValue.Builder hosts = ListValue.newBuilder();
      proxy.egress().forEach(host -> hosts.addValues(text(host.toString())));
      metadata.putFields(EgressHosts.METADATA_KEY, Value.newBuilder().setListValue(hosts).build());
    }
    if (!proxy.labels().isEmpty()) {
      Struct.Builder labels = Struct.newBuilder();
      new TreeMap<>(proxy.labels()).forEach((key, value) -> labels.putFields(key, text(value)));
      metadata.putFields(LABELS_KEY, Value.newBuilder().setStructValue(labels).build());
    }
    Node.Builder node =
        Node.newBuilder()
            .setId(workload.nodeId())
            // Envoy needs a cluster name for some features (access logs, health checks).
            .setCluster(workload.serviceAccount() + "." + workload.namespace())
            .setMetadata(metadata);
    if (!workload.zone().isEmpty()) {
      node.setLocality(Locality.newBuilder().setZone(workload.zone()));
    }
    return node.build();
  }

  private static Cluster xdsCluster(ControlPlane controlPlane) {
    Cluster.Builder cluster =
        http2Cluster(XDS_CLUSTER)
            // A Service's DNS name resolves to its ClusterIP: one address, re-resolved if it moves.
            .setType(Cluster.DiscoveryType.STRICT_DNS)
            .setLoadAssignment(
                assignment(XDS_CLUSTER, socketAddress(controlPlane.host(), controlPlane.port())));
    controlPlane
        .mutualTls()
        .ifPresent(
            tls ->
                cluster.setTransportSocket(
                    TransportSocket.newBuilder()
                        .setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(upstreamTls(controlPlane.host(), tls)))));
    return cluster.build();
  }

  /**
   * TLS to Weft with the workload's own SVID, trusting the mesh's bundle, and only Weft's SPIFFE
   * ID: a workload that could present any certificate of the mesh is not the control plane.
   */
  private static UpstreamTlsContext upstreamTls(String host, ControlPlaneTls tls) {
    ConfigSource sds =
        ConfigSource.newBuilder()
            .setApiConfigSource(
                ApiConfigSource.newBuilder()
                    .setApiType(ApiConfigSource.ApiType.GRPC)
                    .setTransportApiVersion(ApiVersion.V3)
                    .addGrpcServices(grpcService(SDS_CLUSTER)))
            .setResourceApiVersion(ApiVersion.V3)
            .build();
    return UpstreamTlsContext.newBuilder()
        .setSni(host)
        .setCommonTlsContext(
            CommonTlsContext.newBuilder()
                .addAlpnProtocols("h2")
                .addTlsCertificateSdsSecretConfigs(
                    SdsSecretConfig.newBuilder().setName(CERTIFICATE_SECRET).setSdsConfig(sds))
                .setCombinedValidationContext(
                    CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(
                            CertificateValidationContext.newBuilder()
                                .addMatchTypedSubjectAltNames(
                                    SubjectAltNameMatcher.newBuilder()
                                        .setSanType(SubjectAltNameMatcher.SanType.URI)
                                        .setMatcher(
                                            StringMatcher.newBuilder()
                                                .setExact(tls.controlPlaneSpiffeId()))))
                        .setValidationContextSdsSecretConfig(
                            SdsSecretConfig.newBuilder()
                                .setName(TRUST_BUNDLE_SECRET)
                                .setSdsConfig(sds))))
        .build();
  }

  private static Cluster sdsCluster(Path socket) {
    return http2Cluster(SDS_CLUSTER)
        .setType(Cluster.DiscoveryType.STATIC)
        .setLoadAssignment(
            assignment(
                SDS_CLUSTER,
                Address.newBuilder().setPipe(Pipe.newBuilder().setPath(socket.toString())).build()))
        .build();
  }

  /** A cluster that speaks gRPC: HTTP/2 to its upstream. */
  private static Cluster.Builder http2Cluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setConnectTimeout(Durations.fromSeconds(1))
        .putTypedExtensionProtocolOptions(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            Any.pack(
                HttpProtocolOptions.newBuilder()
                    .setExplicitHttpConfig(
                        HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                    .build()));
  }

  private static ClusterLoadAssignment assignment(String cluster, Address address) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
        .addEndpoints(
            LocalityLbEndpoints.newBuilder()
                .addAllLbEndpoints(
                    List.of(
                        LbEndpoint.newBuilder()
                            .setEndpoint(Endpoint.newBuilder().setAddress(address))
                            .build())))
        .build();
  }

  private static Address socketAddress(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }

  private static GrpcService grpcService(String cluster) {
    return GrpcService.newBuilder()
        .setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(cluster))
        .build();
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }
}
