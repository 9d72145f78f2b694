package dev.weft.controller;

import dev.weft.api.policy.MutualTlsMode;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import dev.weft.telemetry.CallTarget;
import dev.weft.telemetry.Destination;
import dev.weft.telemetry.DestinationResolver;
import java.util.Optional;

/**
 * Resolves the targets proxyless clients report ({@code
 * xds:///greeter.shop.svc.cluster.local:8080}, {@code greeter.shop:8080}, ...) to the registry's
 * Services, and so what Envoy proxies report: an upstream cluster's name, which for a Service port
 * is its canonical name ({@code greeter.shop.svc.cluster.local:8080}, see ResourceNames; Envoy's
 * stats name only the cluster, so it is both the target and the backend), and the authority of a
 * request a sidecar served. A name the registry does not know, an IP address, a name without a
 * namespace and Weft's other clusters ({@code inbound|8080}, {@code weft/passthrough}, {@code
 * xds-grpc}: no {@code <name>.<namespace>} host) are unknown. Reads the registry's current
 * snapshot, without locking.
 *
 * <p>The version comes from the cluster that served the calls ({@code grpc.lb.backend_service},
 * which grpc-java reports when a client enables that optional label): Weft names a proxyless
 * cluster after the backend Service's port, so a route that splits {@code greeter} between {@code
 * greeter-v1} and {@code greeter-v2} shows as two versions of {@code greeter}. See {@link
 * #versionOf}.
 */
final class RegistryDestinations implements DestinationResolver {

  /** The label Kubernetes workloads conventionally carry their version in (Istio reads it too). */
  static final String VERSION_LABEL = "version";

  private final MeshRegistry registry;
  private final ConfigDistributor distributor;
  private final String serviceSuffix;

  RegistryDestinations(MeshRegistry registry, ConfigDistributor distributor, String clusterDomain) {
    this.registry = registry;
    this.distributor = distributor;
    this.serviceSuffix = ".svc." + clusterDomain;
  }

  @Override
  public Optional<Destination> resolve(CallTarget target) {
    MeshState state = registry.current();
    Optional<ServiceKey> key = serviceOf(target.host()).filter(k -> state.service(k).isPresent());
    if (key.isEmpty()) {
      return Optional.empty();
    }
    ServiceKey service = key.get();
    String version =
        target
            .backendService()
            .flatMap(this::serviceOfCluster)
            .flatMap(backend -> versionOf(state, service, backend))
            .orElse(Destination.UNKNOWN_VERSION);
    return Optional.of(
        new Destination(
            service.name() + "." + service.namespace() + serviceSuffix,
            version,
            security(distributor.mutualTlsMode(state, service))));
  }

  /**
   * The version of the backend Service that served calls to {@code target}: its {@code version}
   * label; else the {@code version} label every one of its Pods carries; else, when a route sent
   * the calls to another Service than the one called (a canary as Services of their own), that
   * Service's name. Empty when none says (the backend is the called Service itself, without version
   * labels) or the registry does not know the backend.
   */
  private static Optional<String> versionOf(
      MeshState state, ServiceKey target, ServiceKey backend) {
    Optional<MeshService> backendService = state.service(backend);
    if (backendService.isEmpty()) {
      return Optional.empty();
    }
    String labelled = backendService.get().labels().get(VERSION_LABEL);
    if (labelled != null && !labelled.isEmpty()) {
      return Optional.of(labelled);
    }
    String podVersion = null;
    for (Endpoint endpoint : state.endpoints(backend).all()) {
      String version = endpoint.labels().get(VERSION_LABEL);
      if (version == null || (podVersion != null && !podVersion.equals(version))) {
        podVersion = null;
        break;
      }
      podVersion = version;
    }
    if (podVersion != null) {
      return Optional.of(podVersion);
    }
    return backend.equals(target) ? Optional.empty() : Optional.of(backend.name());
  }

  /**
   * The Service a proxyless cluster name ({@code greeter-v1.shop.svc.cluster.local:8080}) is named
   * after; empty for any other name (Envoy's, the not-in-mesh clusters).
   */
  private Optional<ServiceKey> serviceOfCluster(String cluster) {
    int colon = cluster.lastIndexOf(':');
    if (colon <= 0 || !cluster.substring(0, colon).endsWith(serviceSuffix)) {
      return Optional.empty();
    }
    return serviceOf(cluster.substring(0, colon));
  }

  /** {@code name.namespace}, with or without {@code .svc} and the cluster domain. */
  private Optional<ServiceKey> serviceOf(String hostName) {
    String host = hostName;
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (host.endsWith(serviceSuffix)) {
      host = host.substring(0, host.length() - serviceSuffix.length());
    } else if (host.endsWith(".svc")) {
      host = host.substring(0, host.length() - ".svc".length());
    }
    int dot = host.indexOf('.');
    if (dot <= 0 || dot == host.length() - 1 || host.indexOf('.', dot + 1) >= 0) {
      return Optional.empty();
    }
    return Optional.of(new ServiceKey(host.substring(dot + 1), host.substring(0, dot)));
  }

  /** What a proxyless client does under each mode (docs/mtls.md): only STRICT makes it TLS. */
  private static Destination.ConnectionSecurity security(MutualTlsMode mode) {
    return mode == MutualTlsMode.STRICT
        ? Destination.ConnectionSecurity.MUTUAL_TLS
        : Destination.ConnectionSecurity.NONE;
  }
}
