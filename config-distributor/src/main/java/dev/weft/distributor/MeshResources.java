package dev.weft.distributor;

import com.google.protobuf.Message;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServicePort;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Every resource of a registry snapshot under its canonical name, translated exactly as the
 * distributor translates them for proxies: for tools that need the whole set at once, such as a
 * benchmark feeding another control plane the same configuration.
 */
public final class MeshResources {

  private MeshResources() {}

  /** All the resources of {@code state}, by type, in a deterministic order. */
  public static Map<ResourceType, List<Message>> of(MeshState state, ResourceNames names) {
    Map<ResourceType, List<Message>> resources = new EnumMap<>(ResourceType.class);
    for (ResourceType type : ResourceType.values()) {
      resources.put(type, new ArrayList<>());
    }
    state.services().values().stream()
        .sorted(java.util.Comparator.comparing(MeshService::key))
        .forEach(
            service -> {
              for (ServicePort port : service.ports()) {
                String name = names.canonical(service.key(), port.port());
                resources.get(ResourceType.LISTENER).add(Translator.clientListener(name, name));
                resources.get(ResourceType.ROUTE).add(Translator.routeConfiguration(name, name));
                resources.get(ResourceType.CLUSTER).add(Translator.cluster(name, port));
                resources
                    .get(ResourceType.ENDPOINT)
                    .add(
                        Translator.loadAssignment(
                            name, service, port, state.endpoints(service.key())));
              }
            });
    return resources;
  }
}
