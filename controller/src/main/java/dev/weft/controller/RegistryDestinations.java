package dev.weft.controller;

import dev.weft.api.policy.MutualTlsMode;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.MeshRegistry;
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
 * is its canonical name ({@code greeter.shop.svc.cluster.local:8080}, see ResourceNames), and the
 * authority of a request a sidecar served. A name the registry does not know, an IP address, a name
 * without a namespace and Weft's other clusters ({@code inbound|8080}, {@code weft/passthrough},
 * {@code xds-grpc}: no {@code <name>.<namespace>} host) are unknown. The version stays {@code
 * unknown}: grpc-java reports which cluster served a call only when {@code grpc.lb.backend_service}
 * is enabled, and the registry keeps no version per cluster name yet. Reads the registry's current
 * snapshot, without locking.
 */
final class RegistryDestinations implements DestinationResolver {

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
    String host = target.host();
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
    ServiceKey key = new ServiceKey(host.substring(dot + 1), host.substring(0, dot));
    MeshState state = registry.current();
    if (state.service(key).isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new Destination(
            key.name() + "." + key.namespace() + serviceSuffix,
            Destination.UNKNOWN_VERSION,
            security(distributor.mutualTlsMode(state, key))));
  }

  /** What a proxyless client does under each mode (docs/mtls.md): only STRICT makes it TLS. */
  private static Destination.ConnectionSecurity security(MutualTlsMode mode) {
    return mode == MutualTlsMode.STRICT
        ? Destination.ConnectionSecurity.MUTUAL_TLS
        : Destination.ConnectionSecurity.NONE;
  }
}
