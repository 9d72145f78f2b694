package dev.weft.registry;

import java.util.Map;

/**
 * One address and port that serves a Service port, merged from an EndpointSlice and its Pod.
 *
 * @param address the IPv4 or IPv6 address in canonical form
 * @param port the port on that address
 * @param portName the name of the Service port it serves; empty for an unnamed port
 * @param conditions ready, serving and terminating, as the EndpointSlice says
 * @param zone the endpoint's zone; empty when unknown
 * @param node the node it runs on; empty when unknown
 * @param pod the Pod's name; empty when the endpoint is not a Pod
 * @param serviceAccount the Pod's service account; empty until the Pod is known
 * @param labels the Pod's labels, such as {@code version}; empty until the Pod is known
 */
public record Endpoint(
    String address,
    int port,
    String portName,
    EndpointConditions conditions,
    String zone,
    String node,
    String pod,
    String serviceAccount,
    Map<String, String> labels) {

  public boolean ready() {
    return conditions.ready();
  }
}
