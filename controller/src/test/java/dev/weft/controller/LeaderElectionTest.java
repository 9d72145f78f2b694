package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The leader election against Fabric8's mock API server (CRUD mode), with timings a hundred times
 * shorter than production's so that a lost and regained Lease takes seconds.
 */
class LeaderElectionTest {

  private static final String NAMESPACE = "weft-system";
  private static final WeftProperties.LeaderElection FAST =
      new WeftProperties.LeaderElection(
          "weft-leader", Duration.ofMillis(1500), Duration.ofMillis(1000), Duration.ofMillis(200));

  private final KubernetesMockServer server =
      new KubernetesMockServer(
          new Context(),
          new MockWebServer(),
          new HashMap<>(),
          new KubernetesCrudDispatcher(),
          false);
  private final KubernetesClient client;
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final LeaderElection election;

  LeaderElectionTest() {
    server.init();
    client = server.createClient();
    election =
        new LeaderElection(
            client,
            NAMESPACE,
            "replica-a",
            FAST,
            List.of(
                new LeaderElection.LeaderTask() {
                  @Override
                  public void startLeading() {
                    events.add("start");
                  }

                  @Override
                  public void stopLeading() {
                    events.add("stop");
                  }
                }));
  }

  @AfterEach
  void stop() {
    election.stop();
    client.close();
    server.destroy();
  }

  @Test
  void aReplicaThatLostTheLeaseCampaignsAgainAndLeadsOnceItIsFree() {
    election.start();
    await().atMost(Duration.ofSeconds(10)).until(election::isLeader);
    assertThat(holder()).isEqualTo("replica-a");
    assertThat(events).containsExactly("start");

    // Someone else holds the Lease and renews it, as after an API server blip longer than the
    // renew deadline, when another replica took over.
    long stealUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              steal();
              return !election.isLeader() && System.nanoTime() > stealUntil;
            });
    assertThat(events).containsExactly("start", "stop");
    assertThat(election.leader()).isEqualTo("thief");

    // The thief stops renewing: once the Lease lapses, the replica takes it back.
    await().atMost(Duration.ofSeconds(10)).until(election::isLeader);
    assertThat(holder()).isEqualTo("replica-a");
    assertThat(events).containsExactly("start", "stop", "start");
  }

  @Test
  void stoppingReleasesTheLeaseAndStopsTheTasks() {
    election.start();
    await().atMost(Duration.ofSeconds(10)).until(election::isLeader);

    election.stop();

    assertThat(election.isLeader()).isFalse();
    assertThat(events).containsExactly("start", "stop");
    assertThat(holder()).as("released for the next leader").isNullOrEmpty();
  }

  private void steal() {
    Lease lease = client.leases().inNamespace(NAMESPACE).withName("weft-leader").get();
    lease.getSpec().setHolderIdentity("thief");
    lease.getSpec().setRenewTime(ZonedDateTime.now(ZoneOffset.UTC));
    try {
      client.resource(lease).update();
    } catch (KubernetesClientException conflict) {
      // A renewal came in between; the next poll takes it again.
    }
  }

  private String holder() {
    return client
        .leases()
        .inNamespace(NAMESPACE)
        .withName("weft-leader")
        .get()
        .getSpec()
        .getHolderIdentity();
  }
}
