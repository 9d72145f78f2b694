package dev.weft.distributor;

import static org.awaitility.Awaitility.await;

import com.google.rpc.Status;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which proxies hold a route's version ({@link ConfigDistributor#rollout}): a real grpc-xds client
 * that applies it, and a raw proxy that rejects one version and accepts the next.
 */
class RolloutTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final String RDS = ResourceType.ROUTE.typeUrl();
  private static final ObjectKey ROUTE =
      new ObjectKey(ResourceKind.HTTP_ROUTE, "demo", "greeter-canary");
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final XdsTestbed mesh = new XdsTestbed();
  private AdsTestClient raw;

  @AfterEach
  void close() {
    if (raw != null) {
      raw.close();
    }
    mesh.close();
  }

  @Test
  void aRouteIsHeldByTheProxiesThatApplyItAndNotByOneThatRejectsIt() {
    mesh.service("greeter", 50051, mesh.startBackend("stable"));
    mesh.service("greeter-v1", 50051, mesh.startBackend("v1"));
    mesh.service("greeter-v2", 50051, mesh.startBackend("v2"));
    mesh.source().upsert(RoutingEndToEndTest.split(90, 10));
    mesh.source().markSynced();
    ManagedChannel client = mesh.client(TARGET);
    XdsTestbed.call(client, WAIT);
    raw = new AdsTestClient(mesh.xdsPort());
    raw.openSotw();
    raw.send(request("", ""));
    DiscoveryResponse first = raw.nextSotw();
    raw.send(request(first.getVersionInfo(), first.getNonce()));
    await().atMost(WAIT).until(() -> rollout().equals(Optional.of(new Rollout(2, 2, List.of()))));

    mesh.source().upsert(RoutingEndToEndTest.split(50, 50));
    DiscoveryResponse rejected = raw.nextSotw();
    raw.send(
        request(first.getVersionInfo(), rejected.getNonce()).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("route rejected by test"))
            .build());
    await()
        .atMost(WAIT)
        .until(
            () ->
                rollout()
                    .equals(
                        Optional.of(
                            new Rollout(
                                2,
                                1,
                                List.of(
                                    new Rollout.Rejected(
                                        AdsTestClient.NODE.getId(), "route rejected by test"))))));

    mesh.source().upsert(RoutingEndToEndTest.split(60, 40));
    DiscoveryResponse fixed = raw.nextSotw();
    raw.send(request(fixed.getVersionInfo(), fixed.getNonce()));
    await().atMost(WAIT).until(() -> rollout().equals(Optional.of(new Rollout(2, 2, List.of()))));

    // A proxy that leaves is no longer counted.
    raw.close();
    raw = null;
    await().atMost(WAIT).until(() -> rollout().equals(Optional.of(new Rollout(1, 1, List.of()))));
  }

  /** The rollout of the route's version the registry holds now. */
  private Optional<Rollout> rollout() {
    MeshConfig config = mesh.registry.current().config(ROUTE).orElseThrow();
    return mesh.distributor.rollout(config);
  }

  private static DiscoveryRequest request(String version, String nonce) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(RDS)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addResourceNames(TARGET)
        .build();
  }
}
