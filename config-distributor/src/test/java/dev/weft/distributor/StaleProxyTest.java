package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import dev.weft.registry.TestObjects;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stale-proxy count ({@code weft_xds_proxies_stale}): a raw proxy that does not answer, or
 * rejects what it gets, is stale once it has lacked configuration for longer than the threshold
 * (not at the threshold: a fake clock says exactly when), and not once it acknowledges.
 */
class StaleProxyTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";
  private static final Duration STALE_AFTER = Duration.ofMillis(200);
  private static final Duration NANO = Duration.ofNanos(1);

  private FakeTimeMesh mesh;
  private FakeClock clock;
  private AdsTestClient proxy;

  @BeforeEach
  void start() {
    mesh = new FakeTimeMesh(settings -> settings.staleAfter(STALE_AFTER));
    clock = mesh.clock;
    mesh.edit(source -> source.upsert(TestObjects.service("demo", "greeter", "http", 50051)));
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7001)));
    mesh.edit(source -> source.markSynced());
    clock.forwardTime(Duration.ofSeconds(1));
    proxy = mesh.proxy();
    proxy.openSotw();
  }

  @AfterEach
  void stop() {
    mesh.close();
  }

  @Test
  void aProxyThatDoesNotAnswerOrRejectsIsStaleUntilItAcknowledges() {
    proxy.send(request("", "", GREETER));
    DiscoveryResponse first = proxy.nextSotw();
    clock.forwardTime(STALE_AFTER);
    assertThat(mesh.distributor.staleProxies()).as("at the threshold").isZero();
    clock.forwardTime(NANO);
    assertThat(mesh.distributor.staleProxies()).as("beyond it, unanswered").isEqualTo(1);
    assertThat(mesh.meters.get("weft.xds.proxies.stale").gauge().value()).isEqualTo(1.0);

    proxy.send(request(first.getVersionInfo(), first.getNonce(), GREETER));
    assertThat(mesh.distributor.staleProxies()).isZero();

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7002)));
    DiscoveryResponse rejected = proxy.nextSotw();
    proxy.send(
        request(first.getVersionInfo(), rejected.getNonce(), GREETER).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected by test"))
            .build());
    // It answered, but holds an older version than the newest: stale once the threshold passes.
    clock.forwardTime(STALE_AFTER);
    assertThat(mesh.distributor.staleProxies()).isZero();
    clock.forwardTime(NANO);
    assertThat(mesh.distributor.staleProxies()).as("beyond it, rejected").isEqualTo(1);

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7003)));
    DiscoveryResponse fixed = proxy.nextSotw();
    proxy.send(request(fixed.getVersionInfo(), fixed.getNonce(), GREETER));
    assertThat(mesh.distributor.staleProxies()).isZero();
    clock.forwardTime(STALE_AFTER.multipliedBy(10));
    assertThat(mesh.distributor.staleProxies()).as("it holds everything").isZero();
  }

  private static DiscoveryRequest request(String version, String nonce, String... names) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(EDS)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of(names))
        .build();
  }
}
