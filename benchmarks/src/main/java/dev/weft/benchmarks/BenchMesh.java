package dev.weft.benchmarks;

import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.ServiceKey;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The synthetic mesh the benchmarks load: {@code services} Services {@code svc-<i>} in namespace
 * {@code bench}, port 8080, each with one EndpointSlice of {@code endpoints} endpoints across three
 * zones, and a Pod per endpoint. Objects go through a {@link RegistrySource}, the same way the
 * Kubernetes source hands over what its informers deliver.
 *
 * <p>Change {@code c} moves one endpoint to an address that encodes {@code c} ({@code 10.x.y.z});
 * initial addresses are in {@code 11.0.0.0/8}. So whoever receives the endpoints can tell exactly
 * which changes they contain.
 *
 * <p>Not thread-safe: one thread feeds it.
 */
final class BenchMesh {

  static final String NAMESPACE = "bench";
  static final int PORT = 8080;

  private final int services;
  private final int endpoints;
  private final EndpointSlice[] slices;

  BenchMesh(int services, int endpoints) {
    this.services = services;
    this.endpoints = endpoints;
    // Built up front and kept (changes edit them in place): they are the harness's objects, so a
    // heap baseline taken after construction leaves them out of what the registry is charged.
    this.slices = new EndpointSlice[services];
    for (int s = 0; s < services; s++) {
      slices[s] = newSlice(s);
    }
  }

  int services() {
    return services;
  }

  int endpoints() {
    return endpoints;
  }

  /**
   * A Pod of the mesh: the backend {@code endpoint} of a Service, as its endpoint first names it.
   *
   * @param address its IP, the endpoint's initial address
   */
  record Pod(String name, String address, String zone, Map<String, String> labels) {}

  /**
   * The Pod behind endpoint {@code endpoint} of Service {@code service}, in a mesh of {@code
   * endpoints} per Service.
   */
  static Pod pod(int service, int endpoint, int endpoints) {
    int n = service * endpoints + endpoint;
    return new Pod(
        podName(service, endpoint),
        "11." + (n >> 16 & 255) + "." + (n >> 8 & 255) + "." + (n & 255),
        "zone-" + (char) ('a' + endpoint % 3),
        Map.of("app", serviceName(service), "version", "v" + (endpoint % 2 + 1)));
  }

  /** The Pod behind endpoint {@code endpoint} of Service {@code service}, as the API holds it. */
  io.fabric8.kubernetes.api.model.Pod podObject(int service, int endpoint) {
    Pod pod = pod(service, endpoint, endpoints);
    return new PodBuilder()
        .withNewMetadata()
        .withName(pod.name())
        .withNamespace(NAMESPACE)
        .addToLabels(pod.labels())
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(serviceName(service))
        .withNodeName("node-" + (endpoint % 16))
        .endSpec()
        .build();
  }

  /** The EndpointSlice of Service {@code service}: the mesh's own object, which changes edit. */
  EndpointSlice slice(int service) {
    return slices[service];
  }

  /** Hands every Service, Pod and EndpointSlice to {@code source}; waits until applied. */
  void load(MeshRegistry registry, RegistrySource source) {
    for (int s = 0; s < services; s++) {
      source.upsert(service(s, "http"));
      for (int e = 0; e < endpoints; e++) {
        source.upsert(podObject(s, e));
      }
      source.upsert(slices[s]);
    }
    ServiceKey last = key(services - 1);
    while (registry.current().endpoints(last).size() < endpoints) {
      LockSupport.parkNanos(100_000);
    }
  }

  /**
   * Moves endpoint {@code endpoint} of {@code service} to the address of {@code change}, and hands
   * the slice to {@code source}. The source decodes before it returns, so the slice is reused.
   */
  void moveEndpoint(RegistrySource source, int service, int endpoint, long change) {
    slices[service].getEndpoints().get(endpoint).setAddresses(List.of(address(change)));
    source.upsert(slices[service]);
  }

  /** The canary weight of svc-1 after route change {@code change}: 90 after odd ones, else 10. */
  static int canaryWeight(long change) {
    return change % 2 == 1 ? 90 : 10;
  }

  /**
   * Route change {@code change}: an HTTPRoute on svc-0 that splits its traffic between svc-0 and
   * svc-1, with svc-1's weight flipping between 10 and 90, as a user shifting a canary does.
   */
  static HTTPRoute canaryRoute(long change) {
    int canary = canaryWeight(change);
    return new HTTPRouteBuilder()
        .withNewMetadata()
        .withName("svc-0-canary")
        .withNamespace(NAMESPACE)
        .endMetadata()
        .withNewSpec()
        .addNewParentRef()
        .withGroup("")
        .withKind("Service")
        .withName(serviceName(0))
        .endParentRef()
        .addNewRule()
        .addNewBackendRef()
        .withName(serviceName(0))
        .withPort(PORT)
        .withWeight(100 - canary)
        .endBackendRef()
        .addNewBackendRef()
        .withName(serviceName(1))
        .withPort(PORT)
        .withWeight(canary)
        .endBackendRef()
        .endRule()
        .endSpec()
        .build();
  }

  /** The Service with its port's {@code appProtocol}. */
  static Service service(int service, String appProtocol) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(serviceName(service))
        .withNamespace(NAMESPACE)
        .addToLabels("app", serviceName(service))
        .endMetadata()
        .withNewSpec()
        .withClusterIP("172.20." + (service >> 8 & 255) + "." + (service & 255))
        .addNewPort()
        .withName("http")
        .withPort(PORT)
        .withAppProtocol(appProtocol)
        .endPort()
        .endSpec()
        .build();
  }

  private EndpointSlice newSlice(int service) {
    EndpointSliceBuilder builder =
        new EndpointSliceBuilder()
            .withNewMetadata()
            .withName(serviceName(service) + "-abcde")
            .withNamespace(NAMESPACE)
            .addToLabels("kubernetes.io/service-name", serviceName(service))
            .endMetadata()
            .withAddressType("IPv4")
            .addNewPort()
            .withName("http")
            .withPort(PORT)
            .endPort();
    for (int e = 0; e < endpoints; e++) {
      Pod pod = pod(service, e, endpoints);
      builder
          .addNewEndpoint()
          .withAddresses(pod.address())
          .withNewConditions()
          .withReady(true)
          .endConditions()
          .withZone(pod.zone())
          .withNodeName("node-" + (e % 16))
          .withNewTargetRef()
          .withKind("Pod")
          .withNamespace(NAMESPACE)
          .withName(pod.name())
          .endTargetRef()
          .endEndpoint();
    }
    return builder.build();
  }

  static String serviceName(int service) {
    return "svc-" + service;
  }

  static ServiceKey key(int service) {
    return new ServiceKey(NAMESPACE, serviceName(service));
  }

  /** The canonical xDS name of a Service's port: listener, route, cluster and assignment. */
  static String resourceName(int service) {
    return serviceName(service) + "." + NAMESPACE + ".svc.cluster.local:" + PORT;
  }

  /** The index of the Service a canonical name or key names. */
  static int serviceIndex(String name) {
    int dot = name.indexOf('.');
    return Integer.parseInt(name.substring("svc-".length(), dot < 0 ? name.length() : dot));
  }

  private static String podName(int service, int endpoint) {
    return "svc-" + service + "-7d9f8c6b5-" + endpoint;
  }

  static String address(long change) {
    return "10." + (change >> 16 & 255) + "." + (change >> 8 & 255) + "." + (change & 255);
  }

  /** Changes from here on are warm-ups: {@link #changeOf} does not report them. */
  static final long WARMUP_CHANGES = 1 << 22;

  /** Changes that settle the churn scenario before it is measured; not reported either. */
  static final long SETTLING_CHANGES = WARMUP_CHANGES + (1 << 20);

  /** The change an address encodes, or -1 for an address of the initial load or a warm-up. */
  static long changeOf(String address) {
    if (!address.startsWith("10.")) {
      return -1;
    }
    long change = 0;
    int octet = 0;
    for (int i = 3; i < address.length(); i++) {
      char c = address.charAt(i);
      if (c == '.') {
        change = change << 8 | octet;
        octet = 0;
      } else {
        octet = octet * 10 + (c - '0');
      }
    }
    change = change << 8 | octet;
    return change >= WARMUP_CHANGES ? -1 : change;
  }
}
