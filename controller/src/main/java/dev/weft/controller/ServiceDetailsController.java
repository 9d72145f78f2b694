package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /api/services/{namespace}/{name}}: one Service as the service graph page's panel shows
 * it, from one registry snapshot: its ports, its endpoints counted ready or not per zone, and the
 * routes and policies attached to it (to it by name, or to its whole namespace) with the conditions
 * Weft writes to their status. The views are {@link RegistryDebugController}'s, so the two never
 * disagree. In a cluster it is behind the same door as {@code /debug/*}.
 */
@RestController
class ServiceDetailsController {

  private final MeshRegistry registry;
  private final ConfigDistributor distributor;
  private final ReplicaPeers peers;
  private final JsonMapper json;

  ServiceDetailsController(
      MeshRegistry registry, ConfigDistributor distributor, ReplicaPeers peers, JsonMapper json) {
    this.registry = registry;
    this.distributor = distributor;
    this.peers = peers;
    this.json = json;
  }

  @GetMapping(
      path = "/api/services/{namespace}/{name}",
      produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> service(@PathVariable String namespace, @PathVariable String name) {
    MeshState state = registry.current();
    ServiceKey key = new ServiceKey(namespace, name);
    Optional<MeshService> service = key.isNamespaceWide() ? Optional.empty() : state.service(key);
    if (service.isEmpty()) {
      return ResponseEntity.status(HttpStatus.NOT_FOUND)
          .body(
              Map.of(
                  "errors",
                  List.of(
                      Map.of(
                          "field",
                          "name",
                          "reason",
                          "the registry has no Service " + namespace + "/" + name))));
    }
    ServiceEndpoints endpoints = state.endpoints(key);
    List<ObjectKey> keys =
        Stream.concat(
                state.attachments(key).configs().stream(),
                state.namespaceAttachments(namespace).configs().stream())
            .map(MeshConfig::key)
            .distinct()
            .sorted()
            .toList();
    // Programmed counts the proxies of every replica, as the status the leader writes does.
    ReplicaRollouts.Peers others = ReplicaRollouts.ask(peers, keys, json);
    List<RegistryDebugController.ConfigView> attached =
        keys.stream()
            .map(
                config -> RegistryDebugController.ConfigView.of(state, distributor, config, others))
            .toList();
    return ResponseEntity.ok(
        new ServiceDetails(
            namespace,
            name,
            state.version(),
            service.get().headless(),
            service.get().clusterIps(),
            service.get().ports(),
            endpoints.ready().size(),
            endpoints.size() - endpoints.ready().size(),
            ZoneCount.of(endpoints.all()),
            endpoints.all().stream().map(RegistryDebugController.EndpointView::of).toList(),
            attached));
  }

  /**
   * @param registryVersion the snapshot this was read from
   * @param attached routes and policies, ordered by kind, namespace and name
   */
  record ServiceDetails(
      String namespace,
      String name,
      long registryVersion,
      boolean headless,
      List<String> clusterIps,
      List<ServicePort> ports,
      int readyEndpoints,
      int notReadyEndpoints,
      List<ZoneCount> zones,
      List<RegistryDebugController.EndpointView> endpoints,
      List<RegistryDebugController.ConfigView> attached) {}

  /** Endpoints of one zone ({@code ""} when the EndpointSlice names none), ready or not. */
  record ZoneCount(String zone, int ready, int notReady) {

    static List<ZoneCount> of(List<Endpoint> endpoints) {
      Map<String, int[]> counts = new TreeMap<>();
      for (Endpoint endpoint : endpoints) {
        counts.computeIfAbsent(endpoint.zone(), zone -> new int[2])[endpoint.ready() ? 0 : 1]++;
      }
      List<ZoneCount> zones = new ArrayList<>();
      counts.forEach((zone, count) -> zones.add(new ZoneCount(zone, count[0], count[1])));
      return zones;
    }
  }
}
