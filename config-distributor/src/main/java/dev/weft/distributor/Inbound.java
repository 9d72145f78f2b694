package dev.weft.distributor;

import dev.weft.api.policy.AuthorizationRules;
import dev.weft.registry.Endpoint;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an xDS-enabled server enforces on one of its ports: which Services its workload serves
 * there, and so which AuthorizationPolicies apply. Pure functions of a snapshot.
 *
 * <p>A server names its Listener by the address it listens on, usually {@code 0.0.0.0:<port>},
 * which says nothing of the Pod. So the Services are found from the workload the server's node says
 * it is: the Services with an endpoint of that Pod on that port; without a Pod name, those with an
 * endpoint on the server's address, when it listens on one; failing both, those of the workload's
 * namespace with an endpoint on that port. Bootstraps that carry the Pod's name (Weft's do, given
 * {@code pod}) avoid that last, looser match.
 */
final class Inbound {

  private Inbound() {}

  /** The workload a proxy says it is, from its node's metadata; empty strings when unknown. */
  record Workload(String namespace, String pod) {
    static final Workload UNKNOWN = new Workload("", "");
  }

  /** The Services {@code workload} serves on {@code address}, sorted. */
  static List<ServiceKey> services(
      MeshState state, Workload workload, ResourceNames.ServerAddress address) {
    boolean wildcardAddress =
        address.ip().equals("0.0.0.0") || address.ip().equals("::") || address.ip().isEmpty();
    List<ServiceKey> services = new ArrayList<>();
    for (Map.Entry<ServiceKey, ServiceEndpoints> entry : state.endpoints().entrySet()) {
      ServiceKey service = entry.getKey();
      if (!workload.namespace().isEmpty() && !workload.namespace().equals(service.namespace())) {
        continue;
      }
      if (workload.namespace().isEmpty() && (wildcardAddress || !workload.pod().isEmpty())) {
        continue; // nothing ties this server to a namespace
      }
      for (Endpoint endpoint : entry.getValue().all()) {
        if (endpoint.port() == address.port()
            && serves(endpoint, workload, address, wildcardAddress)) {
          services.add(service);
          break;
        }
      }
    }
    services.sort(null);
    return services;
  }

  private static boolean serves(
      Endpoint endpoint,
      Workload workload,
      ResourceNames.ServerAddress address,
      boolean wildcardAddress) {
    if (!workload.pod().isEmpty()) {
      return workload.pod().equals(endpoint.pod());
    }
    return wildcardAddress || endpoint.address().equals(address.ip());
  }

  /**
   * The AuthorizationPolicies attached to any of {@code services}, each once, by qualified name
   * ({@code namespace/name}) so that translation is deterministic.
   */
  static List<AuthorizationTranslator.Named> authorization(
      MeshState state, List<ServiceKey> services) {
    Map<String, AuthorizationRules> byName = new TreeMap<>();
    for (ServiceKey service : services) {
      byName.putAll(state.attachments(service).policies().authorization());
    }
    List<AuthorizationTranslator.Named> named = new ArrayList<>(byName.size());
    byName.forEach((name, rules) -> named.add(new AuthorizationTranslator.Named(name, rules)));
    return named;
  }
}
