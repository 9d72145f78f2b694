package dev.weft.controller;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.ProxyStatus;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The xDS side of the admin API: connected proxies and what they hold, and bootstraps for
 * workloads.
 */
@RestController
class XdsDebugController {

  /** Names the replicas whose proxies {@code /debug/proxies} could not list, and why. */
  static final String UNANSWERED_HEADER = "Weft-Unanswered-Replicas";

  private final ConfigDistributor distributor;
  private final XdsConfiguration.XdsServerLifecycle server;
  private final EnvoyBootstraps envoy;
  private final ReplicaPeers peers;
  private final JsonMapper json;

  XdsDebugController(
      ConfigDistributor distributor,
      XdsConfiguration.XdsServerLifecycle server,
      WeftProperties properties,
      ObjectProvider<CaLifecycle> ca,
      ReplicaPeers peers,
      JsonMapper json) {
    this.distributor = distributor;
    this.server = server;
    this.peers = peers;
    this.json = json;
    // No CA bean with weft.ca.enabled=false: EnvoyBootstraps then never asks it for its port.
    this.envoy = new EnvoyBootstraps(properties, server, ca.getIfAvailable());
  }

  /**
   * Every connected proxy of every replica: identity, the {@code replica} it is connected to, and
   * per type what it acknowledged, awaits, rejected. The other replicas are asked for theirs
   * ({@code ?local=true}: this replica's only, which is what they are asked); those that do not
   * answer are named in the {@value #UNANSWERED_HEADER} header, with why, and their proxies are
   * missing.
   */
  @GetMapping(path = "/debug/proxies", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<List<JsonNode>> proxies(@RequestParam(defaultValue = "false") boolean local) {
    List<JsonNode> proxies = new ArrayList<>();
    for (ProxyStatus status : distributor.proxies()) {
      ObjectNode proxy = json.valueToTree(status);
      proxy.put("replica", peers.identity());
      proxies.add(proxy);
    }
    if (local) {
      return ResponseEntity.ok(proxies);
    }
    ReplicaPeers.Answers<List<JsonNode>> others =
        peers.ask(
            "/debug/proxies?local=true",
            null,
            json.getTypeFactory().constructCollectionType(List.class, JsonNode.class));
    others.answered().values().forEach(proxies::addAll);
    ResponseEntity.BodyBuilder response = ResponseEntity.ok();
    if (!others.unanswered().isEmpty()) {
      response.header(UNANSWERED_HEADER, headerValue(ReplicaPeers.describe(others.unanswered())));
    }
    return response.body(proxies);
  }

  /** A header value: one line of printable ASCII. */
  private static String headerValue(String text) {
    return text.replaceAll("[^\\x20-\\x7e]", " ");
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
