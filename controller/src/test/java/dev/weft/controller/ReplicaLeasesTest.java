package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replica membership against Fabric8's mock API server (CRUD mode): a replica announces itself in a
 * Lease of its own, sees the others whose Lease is current and not the lapsed ones, and deletes its
 * Lease when it stops.
 */
class ReplicaLeasesTest {

  private static final String NAMESPACE = "weft-system";
  private static final WeftProperties.Replicas SETTINGS =
      new WeftProperties.Replicas(
          "weft",
          "http://10.1.0.7:8080",
          Duration.ofSeconds(15),
          Duration.ofMillis(200),
          Duration.ofSeconds(1));

  private final KubernetesMockServer server =
      new KubernetesMockServer(
          new Context(),
          new MockWebServer(),
          new HashMap<>(),
          new KubernetesCrudDispatcher(),
          false);
  private final KubernetesClient client;
  private final ReplicaLeases leases;

  ReplicaLeasesTest() {
    server.init();
    client = server.createClient();
    leases =
        new ReplicaLeases(
            client,
            NAMESPACE,
            "weft-7d9c-aaaaa",
            SETTINGS,
            DaemonThreads.singleThread("test-replica-lease"),
            Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    leases.stop();
    client.close();
    server.destroy();
  }

  @Test
  void aReplicaAnnouncesItselfSeesCurrentPeersAndLeavesOnStop() {
    leases.start();
    Lease own =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    client
                        .leases()
                        .inNamespace(NAMESPACE)
                        .withName("weft-replica-weft-7d9c-aaaaa")
                        .get(),
                lease -> lease != null);
    assertThat(own.getSpec().getHolderIdentity()).isEqualTo("weft-7d9c-aaaaa");
    assertThat(own.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/component", "weft-replica");
    assertThat(own.getMetadata().getAnnotations())
        .containsEntry("weft.dev/peer-address", "http://10.1.0.7:8080");

    peer("weft-7d9c-bbbbb", ZonedDateTime.now(ZoneOffset.UTC), "http://10.1.0.8:8080");
    // A replica that died without deleting its Lease: renewed longer ago than its duration.
    peer("weft-7d9c-ccccc", ZonedDateTime.now(ZoneOffset.UTC).minusSeconds(60), "http://x:1");

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(leases.peers())
                    .containsExactly(
                        new ReplicaLeases.Peer("weft-7d9c-bbbbb", "http://10.1.0.8:8080")));

    leases.stop();

    assertThat(client.leases().inNamespace(NAMESPACE).withName(leases.leaseName()).get())
        .as("deleted, so that the others stop asking at once")
        .isNull();
  }

  @Test
  void aLeaseNameIsMadeOfAnyIdentity() {
    assertThat(ReplicaLeases.leaseName("weft-replica-", "weft-7d9c-aaaaa"))
        .isEqualTo("weft-replica-weft-7d9c-aaaaa");
    assertThat(ReplicaLeases.leaseName("weft-replica-", "My_Laptop.local"))
        .isEqualTo("weft-replica-my-laptop.local");
    assertThat(ReplicaLeases.leaseName("weft-replica-", "x".repeat(300) + "_")).hasSize(253);
  }

  @Test
  void anIpv6PeerAddressGetsItsBracketsAndANonUrlIsRefusedWithTheSetting() {
    assertThat(ReplicaConfiguration.peerAddress("http://fd00:10:244::7:8080"))
        .isEqualTo("http://[fd00:10:244::7]:8080");
    assertThat(ReplicaConfiguration.peerAddress("http://10.244.0.7:8080"))
        .isEqualTo("http://10.244.0.7:8080");
    assertThat(ReplicaConfiguration.peerAddress("http://[fd00::7]:8080"))
        .isEqualTo("http://[fd00::7]:8080");

    assertThatThrownBy(() -> ReplicaConfiguration.checkPeerAddress("10.244.0.7:8080"))
        .isInstanceOf(InvalidSettingException.class)
        .hasMessageStartingWith("weft.kubernetes.replicas.peer-address: \"10.244.0.7:8080\"");
    for (String valid : List.of("", "http://10.244.0.7:8080", "https://[fd00::7]:8443")) {
      ReplicaConfiguration.checkPeerAddress(valid);
    }
  }

  private void peer(String identity, ZonedDateTime renewed, String address) {
    client
        .resource(
            new LeaseBuilder()
                .withNewMetadata()
                .withName("weft-replica-" + identity)
                .withNamespace(NAMESPACE)
                .addToLabels(ReplicaLeases.COMPONENT_LABEL, ReplicaLeases.COMPONENT)
                .addToAnnotations(ReplicaLeases.PEER_ADDRESS_ANNOTATION, address)
                .endMetadata()
                .withNewSpec()
                .withHolderIdentity(identity)
                .withLeaseDurationSeconds(15)
                .withRenewTime(renewed)
                .endSpec()
                .build())
        .create();
  }
}
