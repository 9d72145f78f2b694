package dev.weft.registry;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;

/** Kubernetes objects as a cluster would hold them, for tests. */
public final class TestObjects {

  private TestObjects() {}

  public static Service service(String namespace, String name, String portName, int port) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .endMetadata()
        .withNewSpec()
        .withClusterIP("10.96.0.1")
        .addNewPort()
        .withName(portName)
        .withPort(port)
        .endPort()
        .endSpec()
        .build();
  }

  /**
   * A slice of ready endpoints for {@code service} in zone-a, on a port named {@code http}; each
   * endpoint is backed by the Pod {@link #podName} names.
   */
  public static EndpointSlice slice(
      String namespace, String name, String service, int port, String... addresses) {
    EndpointSliceBuilder builder =
        new EndpointSliceBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(namespace)
            .addToLabels("kubernetes.io/service-name", service)
            .endMetadata()
            .withAddressType("IPv4")
            .addNewPort()
            .withName("http")
            .withPort(port)
            .endPort();
    for (String address : addresses) {
      builder
          .addNewEndpoint()
          .withAddresses(address)
          .withNewConditions()
          .withReady(true)
          .endConditions()
          .withZone("zone-a")
          .withNewTargetRef()
          .withKind("Pod")
          .withNamespace(namespace)
          .withName(podName(service, address))
          .endTargetRef()
          .endEndpoint();
    }
    return builder.build();
  }

  /** The name of the Pod {@link #slice} says backs an address. */
  public static String podName(String service, String address) {
    return service + "-" + address.replace('.', '-');
  }

  public static Pod pod(String namespace, String name, String serviceAccount, String version) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .addToLabels("app", "reviews")
        .addToLabels("version", version)
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(serviceAccount)
        .endSpec()
        .build();
  }
}
