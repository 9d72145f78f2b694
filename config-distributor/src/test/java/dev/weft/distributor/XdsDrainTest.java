package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A control plane that stops gracefully (SIGTERM in a cluster): it takes no new streams and ends
 * the open ones spread over the drain period, so that its proxies reconnect elsewhere a few at a
 * time. End to end with grpc-xds clients, in three containers: {@code ReplicasTest}.
 */
class XdsDrainTest {

  private static final Duration PERIOD = Duration.ofMillis(1200);
  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";

  private final XdsTestbed mesh = new XdsTestbed();
  private final List<AdsTestClient> proxies = new ArrayList<>();

  @AfterEach
  void stop() {
    proxies.forEach(AdsTestClient::close);
    mesh.close();
  }

  @Test
  void drainingEndsEveryStreamWithUnavailableSpreadOverThePeriodAndRefusesNewOnes()
      throws Exception {
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    for (int i = 0; i < 4; i++) {
      AdsTestClient proxy = new AdsTestClient(mesh.xdsPort());
      proxies.add(proxy);
      proxy.openSotw();
      proxy.send(request());
      proxy.nextSotw();
    }

    long started = System.nanoTime();
    CompletableFuture<Void> drained = CompletableFuture.runAsync(() -> mesh.drainXds(PERIOD));
    List<AdsTestClient> open = List.copyOf(proxies);
    List<Long> endedAfterMillis = new ArrayList<>();
    for (AdsTestClient proxy : open) {
      Status status = proxy.awaitEnd();
      endedAfterMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(status.getDescription()).contains("shutting down");
      if (endedAfterMillis.size() == 1) {
        // Mid-drain, a proxy that tries to connect is refused: it goes to another replica.
        AdsTestClient late = new AdsTestClient(mesh.xdsPort());
        proxies.add(late);
        late.openSotw();
        late.send(request());
        assertThat(late.awaitEnd().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      }
    }
    drained.get(10, TimeUnit.SECONDS);

    assertThat(endedAfterMillis.get(3) - endedAfterMillis.get(0))
        .as("ends spread over the drain period, %s ms after it began", endedAfterMillis)
        .isGreaterThanOrEqualTo(PERIOD.toMillis() / 2);
    assertThat(mesh.distributor.connectedProxies()).isZero();
  }

  private static DiscoveryRequest request() {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(EDS)
        .addResourceNames(GREETER)
        .build();
  }
}
