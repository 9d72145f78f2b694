package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.weft.api.policy.TelemetryValues;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.tracers.opentelemetry.resource_detectors.v3.EnvironmentResourceDetectorConfig;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.v3.Percent;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Envoy's OpenTelemetry tracer, from a namespace's {@code Telemetry}: the {@code tracing} of every
 * HTTP connection manager of a Listener, and the cluster its spans go to. Pure functions.
 *
 * <p>Tracing is added to Listeners once they are built, rather than by the code that builds each
 * HTTP connection manager: those stay as they are, and the outbound Listener that sidecars of one
 * view share is copied once per tracing setting (a mesh has few), not once per workload.
 *
 * <p>That is also why the tracer names no service: the outbound Listener is shared across
 * workloads. Envoy's environment resource detector reads the workload's name from the proxy's
 * {@code OTEL_RESOURCE_ATTRIBUTES}, which the injector sets ({@code service.name} and the Pod's
 * namespace and name), and its attributes override {@code service_name}. A Gateway's Listeners are
 * its own, so they name the Gateway.
 *
 * <p>Spans go to a cluster of their own, {@code weft/tracing|<host>:<port>}, which resolves the
 * collector's host by DNS (STRICT_DNS) over HTTP/2, rather than to the mesh's cluster of the
 * collector's Service: that one exists only if the collector is a Service of the mesh, and only for
 * sidecars whose egress hosts include it, and a tracer that names a missing cluster would make
 * Envoy refuse the whole Listener. The price: spans travel in plaintext, even to a collector in the
 * mesh, so the collector's port must not require the mesh's mutual TLS.
 */
final class TracingTranslator {

  /** The tracer Envoy knows the OpenTelemetry one by. */
  static final String TRACER = "envoy.tracers.opentelemetry";

  static final String ENVIRONMENT_DETECTOR =
      "envoy.tracers.opentelemetry.resource_detectors.environment";

  /** The prefix of the name of the cluster that takes spans to a collector. */
  static final String CLUSTER_PREFIX = "weft/tracing|";

  // What a validated endpoint's host can be (a DNS name, IPv4, or IPv6 in brackets); a name a
  // proxy makes up with anything else is no tracing cluster.
  private static final Pattern HOST =
      Pattern.compile("^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]+\\])$");

  private TracingTranslator() {}

  /** The name of the cluster that takes spans to {@code collector}. */
  static String clusterName(TelemetryValues.OtlpEndpoint collector) {
    return CLUSTER_PREFIX + collector;
  }

  /**
   * The collector a tracing cluster's name names, or empty for any other name: the cluster is built
   * from its name alone, so that one resolution serves every proxy that asks for it.
   */
  static Optional<TelemetryValues.OtlpEndpoint> collectorOf(String clusterName) {
    if (!clusterName.startsWith(CLUSTER_PREFIX)) {
      return Optional.empty();
    }
    String endpoint = clusterName.substring(CLUSTER_PREFIX.length());
    int colon = endpoint.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    String host = endpoint.substring(0, colon);
    String digits = endpoint.substring(colon + 1);
    if (!HOST.matcher(host).matches()
        || digits.isEmpty()
        || digits.length() > 5
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return Optional.empty();
    }
    int port = Integer.parseInt(digits);
    if (port < 1 || port > 65535) {
      return Optional.empty();
    }
    boolean ipv6 = host.startsWith("[");
    return Optional.of(
        new TelemetryValues.OtlpEndpoint(ipv6 ? host.substring(1, host.length() - 1) : host, port));
  }

  /**
   * The cluster of {@code collector}: its host resolved by DNS (and re-resolved, as a Service's
   * address may change), spoken to over HTTP/2, as OTLP/gRPC needs.
   */
  static Cluster cluster(TelemetryValues.OtlpEndpoint collector) {
    String name = clusterName(collector);
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STRICT_DNS)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(5))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .putTypedExtensionProtocolOptions(
            Translator.HTTP_PROTOCOL_OPTIONS,
            Any.pack(
                HttpProtocolOptions.newBuilder()
                    .setExplicitHttpConfig(
                        HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                    .build()))
        .setLoadAssignment(
            EnvoySidecarTranslator.singleEndpoint(name, collector.host(), collector.port()))
        .build();
  }

  /**
   * An HTTP connection manager's {@code tracing}: {@code randomSamplingPercentage} of requests
   * start a trace, and spans go to the collector's cluster. {@code serviceName} names the proxy
   * when its Listeners are its own; empty, the environment says who it is.
   */
  static HttpConnectionManager.Tracing tracing(
      TelemetryValues.Tracing settings, String serviceName) {
    OpenTelemetryConfig tracer =
        OpenTelemetryConfig.newBuilder()
            .setGrpcService(
                GrpcService.newBuilder()
                    .setEnvoyGrpc(
                        GrpcService.EnvoyGrpc.newBuilder()
                            .setClusterName(clusterName(settings.otlp()))))
            .setServiceName(serviceName)
            .addResourceDetectors(
                TypedExtensionConfig.newBuilder()
                    .setName(ENVIRONMENT_DETECTOR)
                    .setTypedConfig(
                        Any.pack(EnvironmentResourceDetectorConfig.getDefaultInstance())))
            .build();
    return HttpConnectionManager.Tracing.newBuilder()
        .setRandomSampling(Percent.newBuilder().setValue(settings.randomSamplingPercentage()))
        .setProvider(
            io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder()
                .setName(TRACER)
                .setTypedConfig(Any.pack(tracer)))
        .build();
  }

  /** {@code listener} with {@code tracing} in each of its HTTP connection managers. */
  static Listener traced(Listener listener, HttpConnectionManager.Tracing tracing) {
    Listener.Builder traced = listener.toBuilder();
    for (FilterChain.Builder chain : traced.getFilterChainsBuilderList()) {
      trace(chain, tracing);
    }
    if (traced.hasDefaultFilterChain()) {
      trace(traced.getDefaultFilterChainBuilder(), tracing);
    }
    return traced.build();
  }

  private static void trace(FilterChain.Builder chain, HttpConnectionManager.Tracing tracing) {
    for (Filter.Builder filter : chain.getFiltersBuilderList()) {
      if (!filter.getName().equals(Translator.HTTP_CONNECTION_MANAGER)) {
        continue;
      }
      try {
        HttpConnectionManager manager = filter.getTypedConfig().unpack(HttpConnectionManager.class);
        filter.setTypedConfig(Any.pack(manager.toBuilder().setTracing(tracing).build()));
      } catch (InvalidProtocolBufferException e) {
        // Weft built it from this very type a moment ago.
        throw new IllegalStateException("not an HTTP connection manager: " + filter.getName(), e);
      }
    }
  }
}
