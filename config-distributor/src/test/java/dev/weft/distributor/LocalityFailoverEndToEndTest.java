package dev.weft.distributor;

import static dev.weft.distributor.XdsTestbed.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.TrafficPolicy;
import dev.weft.demo.Greeter;
import dev.weft.registry.TestObjects;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Locality failover ({@code TrafficPolicy loadBalancer.localityFailover}) with real grpc-xds
 * clients that say their zone in their bootstrap: each gets its own zone's endpoints first and
 * moves to the other zone when its own has none that can serve, and back when they return.
 */
class LocalityFailoverEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  private final XdsTestbed mesh = new XdsTestbed();
  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void close() throws InterruptedException {
    mesh.close();
    for (Server server : servers) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void callersStayInTheirZoneAndFailOverWithoutAFailedCallAndBack() throws Exception {
    int zoneAPort = freePort();
    Server zoneA = startBackend("zone-a", zoneAPort);
    startBackend("zone-b", freePort());
    greeterIn(Map.of(zoneAPort, "zone-a", servers.get(1).getPort(), "zone-b"), Map.of());
    mesh.source().upsert(failover());
    mesh.source().markSynced();

    ManagedChannel inZoneA = mesh.client(TARGET, "", "zone-a");
    ManagedChannel inZoneB = mesh.client(TARGET, "", "zone-b");
    assertThat(XdsTestbed.spread(inZoneA, 50)).containsOnlyKeys("zone-a");
    assertThat(XdsTestbed.spread(inZoneB, 50)).containsOnlyKeys("zone-b");

    // The zone-a backend goes away (its process stops; the registry does not know yet). Calls go
    // on all along, and none may fail.
    List<String> outcomes = new ArrayList<>();
    AtomicBoolean calling = new AtomicBoolean(true);
    CompletableFuture<Void> traffic =
        CompletableFuture.runAsync(
            () -> {
              while (calling.get()) {
                String outcome = XdsTestbed.callOrStatus(inZoneA, DEADLINE);
                synchronized (outcomes) {
                  outcomes.add(outcome);
                }
              }
            });
    zoneA.shutdown().awaitTermination(5, TimeUnit.SECONDS);
    long stopped = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(1))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> lastOutcome(outcomes).equals("zone-b"));
    System.out.printf(
        "failover: calls of zone-a reached zone-b %d ms after its backend stopped%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped));

    // It comes back on the same address: calls return to it.
    startBackend("zone-a", zoneAPort);
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> lastOutcome(outcomes).equals("zone-a"));
    calling.set(false);
    traffic.get(30, TimeUnit.SECONDS);
    assertThat(outcomes).as("every call answered").containsOnly("zone-a", "zone-b");
  }

  @Test
  void aZoneWithoutReadyEndpointsSendsItsCallersToTheOthers() {
    int zoneAPort = freePort();
    startBackend("zone-a", zoneAPort);
    int zoneBPort = freePort();
    startBackend("zone-b", zoneBPort);
    Map<Integer, String> zones = Map.of(zoneAPort, "zone-a", zoneBPort, "zone-b");
    greeterIn(zones, Map.of());
    mesh.source().upsert(failover());
    mesh.source().markSynced();
    ManagedChannel inZoneA = mesh.client(TARGET, "", "zone-a");
    assertThat(XdsTestbed.spread(inZoneA, 20)).containsOnlyKeys("zone-a");

    greeterIn(zones, Map.of(zoneAPort, false));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> XdsTestbed.call(inZoneA, DEADLINE).equals("zone-b"));
    assertThat(XdsTestbed.spread(inZoneA, 20)).containsOnlyKeys("zone-b");

    greeterIn(zones, Map.of());
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> XdsTestbed.call(inZoneA, DEADLINE).equals("zone-a"));
  }

  @Test
  void aProxyThatNamesNoZoneIsInItsPodsZone() {
    int zoneAPort = freePort();
    startBackend("zone-a", zoneAPort);
    int zoneBPort = freePort();
    startBackend("zone-b", zoneBPort);
    greeterIn(Map.of(zoneAPort, "zone-a", zoneBPort, "zone-b"), Map.of());
    mesh.source().upsert(failover());
    // The caller's Pod serves a Service of its own: its endpoint says the Pod runs in zone-b.
    mesh.source().upsert(TestObjects.service(NAMESPACE, "caller", "http", 8080));
    mesh.source()
        .upsert(
            new EndpointSliceBuilder(
                    TestObjects.slice(NAMESPACE, "caller-1", "caller", 8080, "127.0.0.9"))
                .editFirstEndpoint()
                .withZone("zone-b")
                .endEndpoint()
                .build());
    mesh.source().markSynced();

    ManagedChannel caller =
        mesh.client(TARGET, TestObjects.podName("caller", "127.0.0.9"), /* zone= */ "");
    assertThat(XdsTestbed.spread(caller, 20)).containsOnlyKeys("zone-b");
  }

  @Test
  void withoutThePolicyEveryZoneSharesTheLoad() {
    int zoneAPort = freePort();
    startBackend("zone-a", zoneAPort);
    int zoneBPort = freePort();
    startBackend("zone-b", zoneBPort);
    greeterIn(Map.of(zoneAPort, "zone-a", zoneBPort, "zone-b"), Map.of());
    mesh.source().markSynced();

    XdsTestbed.awaitEveryBackend(mesh.client(TARGET, "", "zone-a"), "zone-a", "zone-b");
  }

  private static String lastOutcome(List<String> outcomes) {
    synchronized (outcomes) {
      return outcomes.isEmpty() ? "" : outcomes.get(outcomes.size() - 1);
    }
  }

  /** The greeter Service with one endpoint per port, in the zone given; ready unless said. */
  private void greeterIn(Map<Integer, String> zones, Map<Integer, Boolean> ready) {
    mesh.source().upsert(TestObjects.service(NAMESPACE, "greeter", "http", 50051));
    zones.forEach(
        (port, zone) -> {
          EndpointSlice slice =
              new EndpointSliceBuilder(
                      TestObjects.slice(NAMESPACE, "greeter-" + port, "greeter", port, "127.0.0.1"))
                  .editFirstEndpoint()
                  .withZone(zone)
                  .editConditions()
                  .withReady(ready.getOrDefault(port, true))
                  .endConditions()
                  .endEndpoint()
                  .build();
          mesh.source().upsert(slice);
        });
  }

  private static TrafficPolicy failover() {
    return Serialization.unmarshal(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: TrafficPolicy
        metadata: {name: greeter-zones, namespace: demo}
        spec:
          targetRefs: [{group: "", kind: Service, name: greeter}]
          loadBalancer:
            localityFailover: {enabled: true}
        """,
        TrafficPolicy.class);
  }

  private Server startBackend(String name, int port) {
    try {
      Server server =
          Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
              .addService(Greeter.service(name))
              .build()
              .start();
      servers.add(server);
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
