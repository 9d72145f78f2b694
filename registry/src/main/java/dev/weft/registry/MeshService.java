package dev.weft.registry;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Service as the mesh sees it. A Service without endpoints is still a service.
 *
 * @param key namespace and name
 * @param ports the ports in declaration order
 * @param clusterIps the cluster IPs; empty for a headless Service
 * @param labels the Service's labels
 * @param headless whether the Service has no cluster IP ({@code clusterIP: None})
 */
public record MeshService(
    ServiceKey key,
    List<ServicePort> ports,
    List<String> clusterIps,
    Map<String, String> labels,
    boolean headless) {

  public MeshService {
    ports = List.copyOf(ports);
    clusterIps = List.copyOf(clusterIps);
    labels = Map.copyOf(labels);
  }

  /** Finds a port by its number. */
  public Optional<ServicePort> port(int number) {
    for (ServicePort port : ports) {
      if (port.port() == number) {
        return Optional.of(port);
      }
    }
    return Optional.empty();
  }
}
