package dev.weft.controller;

import dev.weft.api.validation.FieldError;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.ConfigCondition;
import dev.weft.registry.ConfigStatus;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.Rejection;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /debug/registry}: what the registry holds, as JSON, from one snapshot: services with
 * their endpoints, endpoints whose Service is not known (yet), validated config, and rejected input
 * with the field and reason.
 */
@RestController
class RegistryDebugController {

  private final MeshRegistry registry;
  private final ConfigDistributor distributor;
  private final ReplicaPeers peers;
  private final JsonMapper json;

  RegistryDebugController(
      MeshRegistry registry, ConfigDistributor distributor, ReplicaPeers peers, JsonMapper json) {
    this.registry = registry;
    this.distributor = distributor;
    this.peers = peers;
    this.json = json;
  }

  @GetMapping(path = "/debug/registry", produces = "application/json")
  RegistryView registry(@RequestParam(required = false) String namespace) {
    MeshState state = registry.current();
    List<ServiceView> services =
        state.services().values().stream()
            .filter(s -> namespace == null || s.key().namespace().equals(namespace))
            .sorted(Comparator.comparing(MeshService::key))
            .map(s -> ServiceView.of(s, state.endpoints(s.key())))
            .toList();
    List<OrphanEndpointsView> orphans =
        state.endpoints().entrySet().stream()
            .filter(e -> !state.services().containsKey(e.getKey()))
            .filter(e -> namespace == null || e.getKey().namespace().equals(namespace))
            .sorted(Map.Entry.comparingByKey())
            .map(
                e ->
                    new OrphanEndpointsView(
                        e.getKey().toString(),
                        e.getValue().all().stream().map(EndpointView::of).toList()))
            .toList();
    List<ObjectKey> keys =
        state.configs().values().stream()
            .filter(c -> namespace == null || c.key().namespace().equals(namespace))
            .map(MeshConfig::key)
            .sorted()
            .toList();
    // Programmed counts the proxies of every replica, as the status the leader writes does.
    ReplicaRollouts.Peers others = ReplicaRollouts.ask(peers, keys, json);
    List<ConfigView> configs =
        keys.stream().map(k -> ConfigView.of(state, distributor, k, others)).toList();
    List<RejectionView> rejections =
        state.rejections().stream()
            .sorted(Comparator.comparing(Rejection::origin).thenComparing(Rejection::object))
            .map(RejectionView::of)
            .toList();
    return new RegistryView(
        state.version(), registry.isSynced(), services, orphans, configs, rejections);
  }

  record RegistryView(
      long version,
      boolean synced,
      List<ServiceView> services,
      List<OrphanEndpointsView> endpointsWithoutService,
      List<ConfigView> configs,
      List<RejectionView> rejections) {}

  record ServiceView(
      String namespace,
      String name,
      boolean headless,
      List<String> clusterIps,
      List<ServicePort> ports,
      Map<String, String> labels,
      int readyEndpoints,
      List<EndpointView> endpoints) {

    static ServiceView of(MeshService service, ServiceEndpoints endpoints) {
      ServiceKey key = service.key();
      return new ServiceView(
          key.namespace(),
          key.name(),
          service.headless(),
          service.clusterIps(),
          service.ports(),
          service.labels(),
          endpoints.ready().size(),
          endpoints.all().stream().map(EndpointView::of).toList());
    }
  }

  record EndpointView(
      String address,
      int port,
      String portName,
      boolean ready,
      boolean serving,
      boolean terminating,
      String zone,
      String node,
      String pod,
      String serviceAccount,
      Map<String, String> labels) {

    static EndpointView of(Endpoint e) {
      return new EndpointView(
          e.address(),
          e.port(),
          e.portName(),
          e.conditions().ready(),
          e.conditions().serving(),
          e.conditions().terminating(),
          e.zone(),
          e.node(),
          e.pod(),
          e.serviceAccount(),
          e.labels());
    }
  }

  record OrphanEndpointsView(String service, List<EndpointView> endpoints) {}

  /** A route or policy with its status conditions, as Kubernetes would show them. */
  record ConfigView(String kind, String namespace, String name, List<ConfigCondition> conditions) {
    static ConfigView of(
        MeshState state,
        ConfigDistributor distributor,
        ObjectKey key,
        ReplicaRollouts.Peers peers) {
      List<ConfigCondition> conditions = new ArrayList<>(ConfigStatus.of(state, key));
      conditions.add(RolloutConditions.programmed(state, distributor, key, peers));
      return new ConfigView(key.kind().kind(), key.namespace(), key.name(), conditions);
    }
  }

  record RejectionView(String origin, String object, List<FieldErrorView> errors) {
    static RejectionView of(Rejection r) {
      return new RejectionView(
          r.origin(), r.object(), r.errors().stream().map(FieldErrorView::of).toList());
    }
  }

  record FieldErrorView(String path, String reason) {
    static FieldErrorView of(FieldError e) {
      return new FieldErrorView(e.path(), e.reason());
    }
  }
}
