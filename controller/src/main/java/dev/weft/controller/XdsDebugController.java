package dev.weft.controller;

import dev.weft.api.validation.Validated;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.ProxyStatus;
import java.util.List;
import java.util.Map;
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

  XdsDebugController(ConfigDistributor distributor, XdsConfiguration.XdsServerLifecycle server) {
    this.distributor = distributor;
    this.server = server;
  }

  /** Every connected proxy: identity, and per type what it acknowledged, awaits, rejected. */
  @GetMapping(path = "/debug/proxies", produces = MediaType.APPLICATION_JSON_VALUE)
  List<ProxyStatus> proxies() {
    return distributor.proxies();
  }

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

  /** A gRPC xDS bootstrap for a workload, pointing at this control plane. */
  @GetMapping(path = "/bootstrap", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> bootstrap(
      @RequestParam(required = false) String namespace,
      @RequestParam(required = false) String serviceAccount,
      @RequestParam(required = false) String pod,
      @RequestParam(required = false) String zone,
      @RequestParam(required = false) String certificateDir) {
    Validated<Bootstrap.Workload> workload =
        Bootstrap.workload(namespace, serviceAccount, pod, zone);
    if (workload instanceof Validated.Valid<Bootstrap.Workload> valid) {
      return ResponseEntity.ok(
          Bootstrap.json(
              server.advertisedAddress(),
              valid.value(),
              BootstrapCommand.certificateFiles(certificateDir)));
    }
    return ResponseEntity.badRequest()
        .body(
            Map.of(
                "errors",
                workload.errors().stream()
                    .map(e -> Map.of("field", e.path(), "reason", e.reason()))
                    .toList()));
  }
}
