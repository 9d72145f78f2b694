package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.TestObjects;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The incremental (delta) ADS protocol, driven by a raw client. */
class DeltaProtocolTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";
  private static final String OTHER = "other.demo.svc.cluster.local:8080";
  private static final String UNKNOWN = "nowhere.demo.svc.cluster.local:80";

  private XdsTestbed mesh;
  private AdsTestClient proxy;

  @BeforeEach
  void start() {
    mesh = new XdsTestbed();
    mesh.greeter(50051, 7001, 7002);
    mesh.source().upsert(TestObjects.service("demo", "other", "http", 8080));
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    proxy = new AdsTestClient(mesh.xdsPort());
    proxy.openDelta();
  }

  @AfterEach
  void stop() {
    proxy.close();
    mesh.close();
  }

  @Test
  void subscribeSendsWhatExistsAndRemovesWhatDoesNot() throws Exception {
    proxy.send(subscribe(EDS, GREETER, UNKNOWN));

    DeltaDiscoveryResponse response = proxy.nextDelta();
    assertThat(names(response)).containsExactly(GREETER);
    assertThat(response.getRemovedResourcesList()).containsExactly(UNKNOWN);
    ClusterLoadAssignment assignment =
        response.getResources(0).getResource().unpack(ClusterLoadAssignment.class);
    assertThat(assignment.getEndpoints(0).getLbEndpointsCount()).isEqualTo(2);
    proxy.send(ack(EDS, response));
  }

  @Test
  void changesSendOnlyWhatChangedAndDeletionsAreRemovals() {
    proxy.send(subscribe(EDS, GREETER, OTHER));
    DeltaDiscoveryResponse first = proxy.nextDelta();
    assertThat(names(first)).containsExactlyInAnyOrder(GREETER, OTHER);
    proxy.send(ack(EDS, first));

    mesh.source().upsert(XdsTestbed.backendSlice(7003));

    DeltaDiscoveryResponse update = proxy.nextDelta();
    assertThat(names(update)).containsExactly(GREETER);
    assertThat(update.getRemovedResourcesList()).isEmpty();
    proxy.send(ack(EDS, update));

    mesh.source().delete(new ObjectKey(ResourceKind.SERVICE, "demo", "other"));

    DeltaDiscoveryResponse removal = proxy.nextDelta();
    assertThat(removal.getResourcesList()).isEmpty();
    assertThat(removal.getRemovedResourcesList()).containsExactly(OTHER);
  }

  @Test
  void unsubscribedResourcesAreNoLongerSent() {
    proxy.send(subscribe(EDS, GREETER));
    proxy.send(ack(EDS, proxy.nextDelta()));
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(EDS)
            .addResourceNamesUnsubscribe(GREETER)
            .build());
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> status().types().get(EDS).subscribed().isEmpty());

    mesh.source().upsert(XdsTestbed.backendSlice(7004));
    // Requests and changes are handled in order: once the next subscription is answered, any
    // push the endpoint change caused would already have arrived ahead of it.
    await().atMost(Duration.ofSeconds(10)).until(() -> endpointsOf("greeter") == 3);
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(CDS)
            .addResourceNamesSubscribe(OTHER)
            .build());

    DeltaDiscoveryResponse next = proxy.nextDelta();
    assertThat(next.getTypeUrl()).isEqualTo(CDS);
    assertThat(names(next)).containsExactly(OTHER);
  }

  @Test
  void nackIsRecordedAndTheRejectedVersionIsNotSentAgain() {
    proxy.send(subscribe(EDS, GREETER));
    DeltaDiscoveryResponse first = proxy.nextDelta();
    proxy.send(ack(EDS, first));
    mesh.source().upsert(XdsTestbed.backendSlice(7003));
    DeltaDiscoveryResponse rejected = proxy.nextDelta();

    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(EDS)
            .setResponseNonce(rejected.getNonce())
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("bad endpoint for test"))
            .build());
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(CDS)
            .addResourceNamesSubscribe(GREETER)
            .build());

    DeltaDiscoveryResponse next = proxy.nextDelta();
    assertThat(next.getTypeUrl()).as("the rejected EDS update was not resent").isEqualTo(CDS);
    ProxyStatus.TypeStatus eds = status().types().get(EDS);
    assertThat(eds.lastNack().detail()).isEqualTo("bad endpoint for test");
    assertThat(eds.lastNack().version()).isEqualTo(rejected.getSystemVersionInfo());
    assertThat(eds.ackedVersion()).isEqualTo(first.getSystemVersionInfo());
    assertThat(mesh.meters.get("weft.xds.nacks").tag("type", "endpoint").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void reconnectWithInitialVersionsSendsOnlyWhatIsStale() {
    proxy.send(subscribe(EDS, GREETER, OTHER));
    DeltaDiscoveryResponse first = proxy.nextDelta();
    Map<String, String> versions = Map.of(GREETER, version(first, GREETER), OTHER, "stale-version");
    proxy.closeStream();

    proxy.openDelta();
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl(EDS)
            .addAllResourceNamesSubscribe(List.of(GREETER, OTHER))
            .putAllInitialResourceVersions(versions)
            .build());

    DeltaDiscoveryResponse resync = proxy.nextDelta();
    assertThat(names(resync)).containsExactly(OTHER);
  }

  @Test
  void wildcardSubscriptionGetsEveryClusterAndLearnsOfNewOnes() {
    proxy.send(
        DeltaDiscoveryRequest.newBuilder().setNode(AdsTestClient.NODE).setTypeUrl(CDS).build());
    DeltaDiscoveryResponse all = proxy.nextDelta();
    assertThat(names(all)).containsExactlyInAnyOrder(GREETER, OTHER);
    proxy.send(ack(CDS, all));

    mesh.source().upsert(TestObjects.service("demo", "third", "http", 9090));

    DeltaDiscoveryResponse added = proxy.nextDelta();
    assertThat(names(added)).containsExactly("third.demo.svc.cluster.local:9090");
  }

  @Test
  void wildcardLearnsOfRemovalsOnceAndAReconnectIsToldWhatWentWhileAway() {
    DeltaDiscoveryRequest wildcard =
        DeltaDiscoveryRequest.newBuilder().setNode(AdsTestClient.NODE).setTypeUrl(CDS).build();
    proxy.send(wildcard);
    DeltaDiscoveryResponse all = proxy.nextDelta();
    proxy.send(ack(CDS, all));
    Map<String, String> held = Map.of(GREETER, version(all, GREETER), OTHER, version(all, OTHER));

    mesh.source().delete(new ObjectKey(ResourceKind.SERVICE, "demo", "other"));
    DeltaDiscoveryResponse removal = proxy.nextDelta();
    assertThat(removal.getResourcesList()).isEmpty();
    assertThat(removal.getRemovedResourcesList()).containsExactly(OTHER);
    proxy.send(ack(CDS, removal));
    // Told once: a later change does not repeat it.
    mesh.source().upsert(TestObjects.service("demo", "third", "http", 9090));
    DeltaDiscoveryResponse added = proxy.nextDelta();
    assertThat(names(added)).containsExactly("third.demo.svc.cluster.local:9090");
    assertThat(added.getRemovedResourcesList()).isEmpty();
    proxy.closeStream();

    // A proxy that was away holds greeter as it is and other, which has gone since.
    proxy.openDelta();
    proxy.send(wildcard.toBuilder().putAllInitialResourceVersions(held).build());
    DeltaDiscoveryResponse resync = proxy.nextDelta();
    assertThat(names(resync)).containsExactly("third.demo.svc.cluster.local:9090");
    assertThat(resync.getRemovedResourcesList()).containsExactly(OTHER);
  }

  @Test
  void anEnvoyNodeShowsAsItsKindOfProxy() throws Exception {
    try (AdsTestClient envoy = new AdsTestClient(mesh.xdsPort())) {
      envoy.openDelta();
      envoy.send(
          DeltaDiscoveryRequest.newBuilder()
              .setNode(
                  Node.newBuilder()
                      .setId("edge-0.demo")
                      .setUserAgentName("envoy")
                      .setMetadata(
                          Struct.newBuilder()
                              .putFields(
                                  "PROXY_TYPE",
                                  Value.newBuilder().setStringValue("gateway").build())))
              .setTypeUrl(EDS)
              .addResourceNamesSubscribe(GREETER)
              .build());
      envoy.nextDelta();
      proxy.send(subscribe(EDS, GREETER));
      proxy.nextDelta();

      assertThat(mesh.distributor.proxies())
          .extracting(ProxyStatus::nodeId, ProxyStatus::type)
          .contains(tuple("edge-0.demo", "gateway"), tuple(AdsTestClient.NODE.getId(), "grpc"));
    }
  }

  private int endpointsOf(String service) {
    return mesh.registry.current().endpoints(new ServiceKey("demo", service)).size();
  }

  private ProxyStatus status() {
    return mesh.distributor.proxies().stream()
        .filter(p -> p.protocol().equals("delta"))
        .findFirst()
        .orElseThrow();
  }

  private static DeltaDiscoveryRequest subscribe(String typeUrl, String... names) {
    return DeltaDiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(List.of(names))
        .build();
  }

  private static DeltaDiscoveryRequest ack(String typeUrl, DeltaDiscoveryResponse response) {
    return DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(typeUrl)
        .setResponseNonce(response.getNonce())
        .build();
  }

  private static List<String> names(DeltaDiscoveryResponse response) {
    return response.getResourcesList().stream().map(Resource::getName).toList();
  }

  private static String version(DeltaDiscoveryResponse response, String name) {
    return response.getResourcesList().stream()
        .filter(r -> r.getName().equals(name))
        .findFirst()
        .orElseThrow()
        .getVersion();
  }
}
