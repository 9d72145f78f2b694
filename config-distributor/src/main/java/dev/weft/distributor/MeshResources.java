package dev.weft.distributor;

import com.google.protobuf.Message;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Resources of a registry snapshot under their canonical names, translated exactly as the
 * distributor translates them for proxies: for tools that need them outside an ADS stream, such as
 * a benchmark feeding another control plane the same configuration.
 */
public final class MeshResources {

  private MeshResources() {}

  /** All the resources of {@code state}, by type, in a deterministic order. */
  public static Map<ResourceType, List<Message>> of(MeshState state, ResourceNames names) {
    return of(state, names, state.services().keySet().stream().sorted().toList());
  }

  /**
   * The resources of the given Services in {@code state}, by type, in the order given. A Service
   * that does not exist contributes nothing.
   */
  public static Map<ResourceType, List<Message>> of(
      MeshState state, ResourceNames names, Collection<ServiceKey> services) {
    Map<ResourceType, List<Message>> resources = new EnumMap<>(ResourceType.class);
    for (ResourceType type : ResourceType.values()) {
      resources.put(type, new ArrayList<>());
    }
    for (ServiceKey key : services) {
      MeshService service = state.service(key).orElse(null);
      if (service == null) {
        continue;
      }
      for (ServicePort port : service.ports()) {
        String name = names.canonical(service.key(), port.port());
        resources.get(ResourceType.LISTENER).add(Translator.clientListener(name, name));
        resources
            .get(ResourceType.ROUTE)
            .add(
                RouteTranslator.routeConfiguration(
                    name, service, port, state.attachments(service.key()), names));
        resources
            .get(ResourceType.CLUSTER)
            .add(
                Translator.cluster(
                    name,
                    port,
                    AttachedPolicies.of(service.key(), state.attachments(service.key()))));
        resources
            .get(ResourceType.ENDPOINT)
            .add(
                Translator.loadAssignment(name, service, port, state.endpoints(service.key()), ""));
      }
    }
    return resources;
  }
}
