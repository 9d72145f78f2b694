package dev.weft.controller;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.ProxyStatus;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The xDS side of the admin API: connected proxies and what they hold, and bootstraps for
 * workloads.
 */
@RestController
class XdsDebugController {

  private final ConfigDistributor distributor;
  private final XdsConfiguration.XdsServerLifecycle server;
  private final EnvoyBootstraps envoy;
  private final String replica;

  XdsDebugController(
      ConfigDistributor distributor,
      XdsConfiguration.XdsServerLifecycle server,
      WeftProperties properties,
      ObjectProvider<CaLifecycle> ca) {
    this.distributor = distributor;
    this.server = server;
    // No CA bean with weft.ca.enabled=false: EnvoyBootstraps then never asks it for its port.
    this.envoy = new EnvoyBootstraps(properties, server, ca.getIfAvailable());
    this.replica = ReplicaIdentity.of(properties);
  }

  /**
   * Every connected proxy: identity, the replica it is connected to, and per type what it
   * acknowledged, awaits, rejected.
   */
  @GetMapping(path = "/debug/proxies", produces = MediaType.APPLICATION_JSON_VALUE)
  List<ConnectedProxy> proxies() {
    return distributor.proxies().stream().map(p -> new ConnectedProxy(p, replica)).toList();
  }

  /**
   * A proxy's status, its fields at the top level, and the replica (its {@link ReplicaIdentity})
   * that holds its stream.
   */
  record ConnectedProxy(@JsonUnwrapped ProxyStatus status, String replica) {}

  /** The resources one proxy holds, by stream id or node id. */
  @GetMapping(path = "/debug/config_dump", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> configDump(@RequestParam String proxy) {
    return distributor
        .configDump(proxy)
        .<ResponseEntity<?>>map(ResponseEntity::ok)
        .orElseGet(
            () ->
                ResponseEntity.status(404)
                    .body(Map.of("error", "no connected proxy with stream or node id " + proxy)));
  }

  /**
   * A bootstrap for a workload, pointing at this control plane: gRPC's (gRFC A27) by default, or
   * with {@code proxy=envoy} an Envoy sidecar's or gateway's ({@code type}), with its Pod's IP
   * address, labels ({@code label=key=value}, repeated) and the Services it calls ({@code
   * egress=namespace/service}, repeated or separated by commas).
   */
  @GetMapping(path = "/bootstrap", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> bootstrap(
      @RequestParam(required = false) String namespace,
      @RequestParam(required = false) String serviceAccount,
      @RequestParam(required = false) String pod,
      @RequestParam(required = false) String zone,
      @RequestParam(required = false) String certificateDir,
      @RequestParam(defaultValue = "grpc") String proxy,
      @RequestParam(defaultValue = "sidecar") String type,
      @RequestParam(required = false) String podIp,
      @RequestParam(required = false) List<String> label,
      @RequestParam(required = false) List<String> egress,
      @RequestParam(defaultValue = "true") boolean delta) {
    FieldErrors errors = new FieldErrors();
    Validated<Bootstrap.Workload> workload =
        Bootstrap.workload(namespace, serviceAccount, pod, zone);
    workload.errors().forEach(e -> errors.add(e.path(), e.reason()));
    if (!proxy.equals("grpc") && !proxy.equals("envoy")) {
      errors.add("proxy", "\"" + proxy + "\" is neither grpc nor envoy");
    }
    Optional<EnvoyBootstrap.ProxyType> proxyType = EnvoyBootstraps.proxyType(type);
    if (proxyType.isEmpty()) {
      errors.add("type", "\"" + type + "\" is neither sidecar nor gateway");
    }
    Map<String, String> labels = EnvoyBootstraps.labels(label, errors);
    List<EgressHosts.Host> egressHosts = EnvoyBootstraps.egress(egress, errors);
    String address = podIp == null ? "" : podIp.trim();
    if (!address.isEmpty() && !EnvoyBootstraps.isIpAddress(address)) {
      errors.add("podIp", "\"" + address + "\" is not an IP address");
    }
    if (!errors.isEmpty() || !(workload instanceof Validated.Valid<Bootstrap.Workload> valid)) {
      return ResponseEntity.badRequest()
          .body(
              Map.of(
                  "errors",
                  errors.toList().stream()
                      .map(e -> Map.of("field", e.path(), "reason", e.reason()))
                      .toList()));
    }
    if (proxy.equals("envoy")) {
      EnvoyBootstrap.ControlPlane controlPlane;
      try {
        controlPlane = envoy.controlPlane(delta);
      } catch (IllegalStateException e) {
        return ResponseEntity.status(409).body(Map.of("error", e.getMessage()));
      }
      return ResponseEntity.ok(
          EnvoyBootstrap.json(
              new EnvoyBootstrap.Proxy(
                  proxyType.get(), valid.value(), address, labels, egressHosts),
              controlPlane));
    }
    return ResponseEntity.ok(
        Bootstrap.json(
            server.advertisedAddress(),
            valid.value(),
            BootstrapCommand.certificateFiles(certificateDir)));
  }
}
