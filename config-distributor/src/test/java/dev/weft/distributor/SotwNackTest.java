package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** State-of-the-world details a raw proxy can check: NACKs, no-op changes, unknown types. */
class SotwNackTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";

  private XdsTestbed mesh;
  private AdsTestClient proxy;

  @BeforeEach
  void start() {
    mesh = new XdsTestbed();
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    proxy = new AdsTestClient(mesh.xdsPort());
    proxy.openSotw();
  }

  @AfterEach
  void stop() {
    proxy.close();
    mesh.close();
  }

  @Test
  void rejectedVersionIsRecordedNotResentAndTheLastGoodOneStays() throws Exception {
    proxy.send(request(EDS, "", "", GREETER));
    DiscoveryResponse good = proxy.nextSotw();
    proxy.send(request(EDS, good.getVersionInfo(), good.getNonce(), GREETER));

    mesh.source().upsert(XdsTestbed.backendSlice(7002));
    DiscoveryResponse rejected = proxy.nextSotw();
    assertThat(rejected.getVersionInfo()).isNotEqualTo(good.getVersionInfo());
    proxy.send(
        request(EDS, good.getVersionInfo(), rejected.getNonce(), GREETER).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("endpoint rejected by test"))
            .build());
    // Handled in order: had the NACK caused a resend, it would arrive before this answer.
    proxy.send(request(CDS, "", "", GREETER));

    DiscoveryResponse next = proxy.nextSotw();
    assertThat(next.getTypeUrl()).as("the rejected version is not sent again").isEqualTo(CDS);
    ProxyStatus status = mesh.distributor.proxies().get(0);
    ProxyStatus.TypeStatus eds = status.types().get(EDS);
    assertThat(eds.ackedVersion()).isEqualTo(good.getVersionInfo());
    assertThat(eds.ackedAt()).isNotNull();
    assertThat(eds.pendingVersion()).isEmpty();
    assertThat(eds.pendingSince()).isNull();
    // The rejection keeps it behind: it lacks the version it rejected.
    assertThat(status.behindSince()).isNotNull();
    // CDS: answered above, not yet acknowledged.
    ProxyStatus.TypeStatus cds = status.types().get(CDS);
    assertThat(cds.pendingVersion()).isEqualTo(next.getVersionInfo());
    assertThat(cds.pendingSince()).isNotNull();
    assertThat(cds.ackedAt()).isNull();
    assertThat(eds.lastNack().version()).isEqualTo(rejected.getVersionInfo());
    assertThat(eds.lastNack().detail()).isEqualTo("endpoint rejected by test");
    assertThat(mesh.meters.get("weft.xds.nacks").tag("type", "endpoint").counter().count())
        .isEqualTo(1.0);
    String dump = mesh.distributor.configDump(AdsTestClient.NODE.getId()).orElseThrow();
    assertThat(dump).contains("7001").doesNotContain("7002");

    // The next change is a new version, and it is sent.
    mesh.source().upsert(XdsTestbed.backendSlice(7003));
    DiscoveryResponse fixed = proxy.nextSotw();
    assertThat(fixed.getTypeUrl()).isEqualTo(EDS);
    ClusterLoadAssignment assignment = fixed.getResources(0).unpack(ClusterLoadAssignment.class);
    assertThat(assignment.getEndpoints(0).getLbEndpointsCount()).isEqualTo(3);
  }

  @Test
  void changeThatLeavesTheResourceAsItWasSendsNothing() {
    proxy.send(request(CDS, "", "", GREETER));
    DiscoveryResponse first = proxy.nextSotw();
    proxy.send(request(CDS, first.getVersionInfo(), first.getNonce(), GREETER));

    // New endpoints change the load assignment, not the cluster.
    mesh.source().upsert(XdsTestbed.backendSlice(7002));
    proxy.send(request(EDS, "", "", GREETER));

    DiscoveryResponse next = proxy.nextSotw();
    assertThat(next.getTypeUrl()).isEqualTo(EDS);
  }

  @Test
  void endpointChangeSendsOnlyTheAssignmentThatChanged() throws Exception {
    String other = "other.demo.svc.cluster.local:8080";
    mesh.source().upsert(dev.weft.registry.TestObjects.service("demo", "other", "http", 8080));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                mesh.registry
                    .current()
                    .service(new dev.weft.registry.ServiceKey("demo", "other"))
                    .isPresent());
    proxy.send(request(EDS, "", "", GREETER, other));
    DiscoveryResponse both = proxy.nextSotw();
    assertThat(both.getResourcesCount()).isEqualTo(2);
    proxy.send(request(EDS, both.getVersionInfo(), both.getNonce(), GREETER, other));

    mesh.source().upsert(XdsTestbed.backendSlice(7002));

    DiscoveryResponse changed = proxy.nextSotw();
    assertThat(changed.getResourcesCount()).isEqualTo(1);
    assertThat(changed.getResources(0).unpack(ClusterLoadAssignment.class).getClusterName())
        .isEqualTo(GREETER);
  }

  /**
   * What grpc-js-xds does when its last channel closes and a new one opens: it unsubscribes from
   * everything, ends its stream, forgets what it held, and asks again on a new stream with the
   * version it last accepted. Unsubscribing is not answered (grpc-js-xds would apply an empty
   * answer that arrives late on the old stream to the new channel), and the new stream's request
   * is, though its version is current: the proxy no longer holds it.
   */
  @Test
  void aProxyThatUnsubscribesAndAsksAgainOnANewStreamIsAnsweredThere() {
    proxy.send(request(CDS, "", "", GREETER));
    proxy.send(request(EDS, "", "", GREETER));
    DiscoveryResponse cluster = proxy.nextSotw();
    DiscoveryResponse endpoints = proxy.nextSotw();
    proxy.send(request(CDS, cluster.getVersionInfo(), cluster.getNonce(), GREETER));
    proxy.send(request(CDS, cluster.getVersionInfo(), cluster.getNonce()));
    proxy.send(request(EDS, endpoints.getVersionInfo(), endpoints.getNonce()));
    proxy.send(request(EDS, endpoints.getVersionInfo(), endpoints.getNonce(), GREETER));
    DiscoveryResponse endpointsAgain = proxy.nextSotw();
    assertThat(endpointsAgain.getTypeUrl())
        .as("unsubscribing from every cluster is not answered")
        .isEqualTo(EDS);
    proxy.closeStream();

    proxy.openSotw();
    proxy.send(request(CDS, cluster.getVersionInfo(), "", GREETER));

    DiscoveryResponse again = proxy.nextSotw();
    assertThat(again.getTypeUrl()).isEqualTo(CDS);
    assertThat(again.getResourcesList()).isEqualTo(cluster.getResourcesList());
  }

  @Test
  void unknownTypeIsAnsweredEmpty() {
    proxy.send(
        DiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl("type.googleapis.com/envoy.service.runtime.v3.Runtime")
            .addResourceNames("anything")
            .build());

    DiscoveryResponse response = proxy.nextSotw();
    assertThat(response.getResourcesList()).isEmpty();
  }

  private static DiscoveryRequest request(
      String typeUrl, String version, String nonce, String... names) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(typeUrl)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(java.util.List.of(names))
        .build();
  }
}
