package dev.weft.distributor;

import static dev.weft.distributor.XdsTestbed.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Real grpc-xds clients against the distributor, with the registry fed directly. */
class XdsEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final XdsTestbed mesh = new XdsTestbed();

  @AfterEach
  void close() {
    mesh.close();
  }

  @Test
  void clientReachesEveryBackendUnderEveryNameForm() {
    int v1 = mesh.startBackend("v1");
    int v2 = mesh.startBackend("v2");
    mesh.greeter(50051, v1, v2);
    mesh.source().markSynced();

    for (String target :
        List.of(
            TARGET,
            "greeter.demo.svc:50051",
            "greeter.demo:50051",
            "greeter.demo",
            "greeter.demo.svc.cluster.local")) {
      ManagedChannel channel = mesh.client(target);
      XdsTestbed.awaitEveryBackend(channel, "v1", "v2");
    }
  }

  @Test
  void scalingFromThreeToFiveReachesTheNewBackendsWithinOneSecond() {
    List<Integer> ports = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      ports.add(mesh.startBackend("b" + i));
    }
    mesh.greeter(50051, ports.get(0), ports.get(1), ports.get(2));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    XdsTestbed.awaitEveryBackend(channel, "b1", "b2", "b3");

    mesh.source().upsert(XdsTestbed.backendSlice(ports.get(3)));
    mesh.source().upsert(XdsTestbed.backendSlice(ports.get(4)));

    Set<String> seen = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(1))
        .pollInterval(Duration.ofMillis(10))
        .until(
            () -> {
              seen.add(XdsTestbed.call(channel, Duration.ofSeconds(1)));
              return seen.containsAll(List.of("b4", "b5"));
            });
  }

  @Test
  void removedAndNotReadyEndpointsGetNoMoreCalls() {
    int keep = mesh.startBackend("keep");
    int removed = mesh.startBackend("removed");
    int unready = mesh.startBackend("unready");
    mesh.greeter(50051, keep, removed, unready);
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    XdsTestbed.awaitEveryBackend(channel, "keep", "removed", "unready");

    mesh.source().delete(XdsTestbed.backendSlice(removed));
    EndpointSlice notReady =
        new EndpointSliceBuilder(XdsTestbed.backendSlice(unready))
            .editFirstEndpoint()
            .editConditions()
            .withReady(false)
            .endConditions()
            .endEndpoint()
            .build();
    mesh.source().upsert(notReady);

    // Converged once a run of calls sees only the kept backend; after that, none may stray.
    await()
        .atMost(WAIT)
        .until(() -> XdsTestbed.spread(channel, 20).keySet().equals(Set.of("keep")));
    assertThat(XdsTestbed.spread(channel, 200)).containsOnlyKeys("keep");
  }

  @Test
  void unknownServiceFailsFastWithAClearStatus() {
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client("nowhere.demo:80");

    long start = System.nanoTime();
    StatusRuntimeException failure =
        org.junit.jupiter.api.Assertions.assertThrows(
            StatusRuntimeException.class, () -> XdsTestbed.call(channel, Duration.ofSeconds(30)));
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertThat(failure.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(failure.getStatus().getDescription()).contains("nowhere.demo:80");
    assertThat(took).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void xdsEnabledServerServesOnceItHasItsListener() throws Exception {
    int port = freePort();
    mesh.greeter(50051, port);
    mesh.source().markSynced();
    mesh.startXdsBackend("xds-server", port, "greeter");
    ManagedChannel channel = mesh.client(TARGET);

    await()
        .atMost(WAIT)
        .until(() -> "xds-server".equals(XdsTestbed.callOrStatus(channel, Duration.ofSeconds(2))));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(mesh.distributor.proxies())
                    .anySatisfy(
                        proxy ->
                            assertThat(
                                    proxy.types().get(ResourceType.LISTENER.typeUrl()).resources())
                                .anyMatch(name -> name.startsWith("weft/inbound?address="))));
  }

  @Test
  void controlPlaneRestartFailsNoCall() throws Exception {
    int a = mesh.startBackend("a");
    int b = mesh.startBackend("b");
    int c = mesh.startBackend("c");
    mesh.greeter(50051, a, b);
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    XdsTestbed.awaitEveryBackend(channel, "a", "b");

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger calls = new AtomicInteger();
    Set<String> answered = java.util.concurrent.ConcurrentHashMap.newKeySet();
    Thread traffic =
        new Thread(
            () -> {
              while (running.get()) {
                String result = XdsTestbed.callOrStatus(channel, Duration.ofSeconds(5));
                calls.incrementAndGet();
                if (Set.of("a", "b", "c").contains(result)) {
                  answered.add(result);
                } else {
                  failures.incrementAndGet();
                }
              }
            });
    traffic.start();
    try {
      int port = mesh.xdsPort();
      mesh.stopXds();
      mesh.distributor.close();
      int before = calls.get();
      await().atMost(WAIT).until(() -> calls.get() > before + 50); // serving on its last config

      // A new control plane on the same port, with the same registry (its source is Kubernetes
      // or the directory in production): the client reconnects and resyncs.
      try (ConfigDistributor restarted = ConfigDistributor.builder(mesh.registry).build()) {
        mesh.restartXds(restarted, port);
        await().atMost(WAIT).until(() -> !restarted.proxies().isEmpty());
        mesh.source().upsert(XdsTestbed.backendSlice(c));
        await().atMost(WAIT).until(() -> answered.contains("c"));
      }
    } finally {
      running.set(false);
      traffic.join();
    }
    assertThat(failures.get()).as("failed calls out of %d", calls.get()).isZero();
  }

  @Test
  void proxyStatusShowsIdentityAndAcknowledgedVersions() {
    int v1 = mesh.startBackend("v1");
    mesh.greeter(50051, v1);
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    XdsTestbed.call(channel, Duration.ofSeconds(10));

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(mesh.distributor.proxies()).hasSize(1);
              ProxyStatus proxy = mesh.distributor.proxies().get(0);
              assertThat(proxy.nodeId()).isEqualTo("greeter-client.demo");
              assertThat(proxy.namespace()).isEqualTo(NAMESPACE);
              assertThat(proxy.serviceAccount()).isEqualTo("greeter-client");
              assertThat(proxy.protocol()).isEqualTo("sotw");
              for (ResourceType type : ResourceType.PROXYLESS) {
                ProxyStatus.TypeStatus status = proxy.types().get(type.typeUrl());
                assertThat(status.ackedVersion()).as(type.name()).isNotEmpty();
                assertThat(status.pendingVersion()).as(type.name()).isEmpty();
              }
            });
    String dump = mesh.distributor.configDump("greeter-client.demo").orElseThrow();
    assertThat(dump).contains(TARGET).contains("\"127.0.0.1\"");
    // It connected after the configuration was published: that is its own sync, not slow
    // convergence of a change it waited for.
    assertThat(mesh.meters.get("weft.xds.sync").tag("type", "endpoint").timer().count())
        .isPositive();
    assertThat(mesh.meters.get("weft.xds.convergence").tag("type", "endpoint").timer().count())
        .isZero();

    // A change while it is subscribed: its ACK times the change's convergence.
    mesh.greeter(50051, v1, mesh.startBackend("v2"));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        mesh.meters
                            .get("weft.xds.convergence")
                            .tag("type", "endpoint")
                            .timer()
                            .count())
                    .isPositive());
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
