package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshService;
import dev.weft.registry.MeshState;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.TestObjects;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class TranslatorTest {

  private static final ResourceNames NAMES = new ResourceNames("cluster.local");

  @Test
  void grpcPortsGetHttp2UpstreamsAndOthersDoNot() throws Exception {
    MeshState state =
        mesh(
            source -> {
              var grpc = TestObjects.service("demo", "greeter", "grpc", 50051);
              grpc.getSpec().getPorts().get(0).setAppProtocol("grpc");
              source.upsert(grpc);
              source.upsert(TestObjects.service("demo", "web", "http", 8080));
            });

    Map<ResourceType, List<com.google.protobuf.Message>> resources = MeshResources.of(state, NAMES);

    Cluster greeter = (Cluster) resources.get(ResourceType.CLUSTER).get(0);
    Cluster web = (Cluster) resources.get(ResourceType.CLUSTER).get(1);
    assertThat(greeter.getName()).isEqualTo("greeter.demo.svc.cluster.local:50051");
    assertThat(greeter.getTypedExtensionProtocolOptionsMap())
        .containsKey(Translator.HTTP_PROTOCOL_OPTIONS);
    assertThat(web.getTypedExtensionProtocolOptionsMap()).isEmpty();
  }

  @Test
  void endpointsAreGroupedByZoneWithWeightsAndHealth() {
    MeshState state =
        mesh(
            source -> {
              source.upsert(TestObjects.service("demo", "web", "http", 8080));
              EndpointSlice slice =
                  new EndpointSliceBuilder(
                          TestObjects.slice("demo", "web-1", "web", 8080, "10.0.0.1", "10.0.0.2"))
                      .editLastEndpoint()
                      .withZone("zone-b")
                      .editConditions()
                      .withReady(false)
                      .endConditions()
                      .endEndpoint()
                      .build();
              source.upsert(slice);
            });

    ClusterLoadAssignment assignment =
        (ClusterLoadAssignment) MeshResources.of(state, NAMES).get(ResourceType.ENDPOINT).get(0);

    assertThat(assignment.getEndpointsList())
        .extracting(l -> l.getLocality().getZone())
        .containsExactly("zone-a", "zone-b");
    assertThat(assignment.getEndpoints(0).getLoadBalancingWeight().getValue()).isEqualTo(1);
    assertThat(assignment.getEndpoints(0).getLbEndpoints(0).getHealthStatus())
        .isEqualTo(HealthStatus.HEALTHY);
    assertThat(assignment.getEndpoints(1).getLbEndpoints(0).getHealthStatus())
        .isEqualTo(HealthStatus.UNHEALTHY);
  }

  @Test
  void aPreferredZoneComesFirstUnlessNoneOfItsEndpointsIsReady() {
    MeshState state =
        mesh(
            source -> {
              source.upsert(TestObjects.service("demo", "web", "http", 8080));
              source.upsert(
                  new EndpointSliceBuilder(
                          TestObjects.slice(
                              "demo", "web-1", "web", 8080, "10.0.0.1", "10.0.0.2", "10.0.0.3"))
                      .editMatchingEndpoint(e -> e.getAddresses().contains("10.0.0.2"))
                      .withZone("zone-b")
                      .endEndpoint()
                      .editMatchingEndpoint(e -> e.getAddresses().contains("10.0.0.3"))
                      .withZone("zone-c")
                      .editConditions()
                      .withReady(false)
                      .endConditions()
                      .endEndpoint()
                      .build());
            });
    MeshService web = state.service(new ServiceKey("demo", "web")).orElseThrow();
    ServiceEndpoints endpoints = state.endpoints(web.key());
    String name = "web.demo.svc.cluster.local:8080";

    assertThat(
            Translator.loadAssignment(name, web, web.ports().get(0), endpoints, "zone-b")
                .getEndpointsList())
        .extracting(l -> l.getLocality().getZone() + "=" + l.getPriority())
        .containsExactly("zone-a=1", "zone-b=0", "zone-c=1");
    // zone-c's only endpoint is not ready: its callers would wait on a priority that cannot serve.
    assertThat(
            Translator.loadAssignment(name, web, web.ports().get(0), endpoints, "zone-c")
                .getEndpointsList())
        .extracting(l -> l.getLocality().getZone() + "=" + l.getPriority())
        .containsExactly("zone-a=0", "zone-b=0", "zone-c=0");
    assertThat(
            Translator.loadAssignment(name, web, web.ports().get(0), endpoints, "")
                .getEndpointsList())
        .extracting(LocalityLbEndpoints::getPriority)
        .containsOnly(0);
  }

  @Test
  void clientListenerFetchesItsRoutesOverAdsWithTheRouterLast() throws Exception {
    Listener listener =
        Translator.clientListener("web.demo:8080", "web.demo.svc.cluster.local:8080");

    HttpConnectionManager manager =
        listener.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    assertThat(manager.getRds().getRouteConfigName()).isEqualTo("web.demo.svc.cluster.local:8080");
    assertThat(manager.getRds().getConfigSource().hasAds()).isTrue();
    assertThat(manager.getHttpFilters(manager.getHttpFiltersCount() - 1).getName())
        .isEqualTo(Translator.ROUTER);
  }

  @Test
  void translationIsDeterministic() {
    MeshState state =
        mesh(
            source -> {
              source.upsert(TestObjects.service("demo", "web", "http", 8080));
              source.upsert(
                  TestObjects.slice("demo", "web-1", "web", 8080, "10.0.0.2", "10.0.0.1"));
            });

    assertThat(MeshResources.of(state, NAMES)).isEqualTo(MeshResources.of(state, NAMES));
    Resource first =
        Resource.of("x", MeshResources.of(state, NAMES).get(ResourceType.ENDPOINT).get(0));
    Resource second =
        Resource.of("x", MeshResources.of(state, NAMES).get(ResourceType.ENDPOINT).get(0));
    assertThat(first.version()).isEqualTo(second.version());
  }

  private static MeshState mesh(java.util.function.Consumer<RegistrySource> feed) {
    try (MeshRegistry registry = MeshRegistry.create()) {
      RegistrySource source = registry.registerSource("test");
      feed.accept(source);
      source.markSynced();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(registry::isSynced);
      return registry.current();
    }
  }
}
