package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.rpc.Status;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stale-proxy count ({@code weft_xds_proxies_stale}): a raw proxy that does not answer, or
 * rejects what it gets, is stale once the threshold has passed, and not once it acknowledges.
 */
class StaleProxyTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";
  private static final Duration STALE_AFTER = Duration.ofMillis(200);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private XdsTestbed mesh;
  private AdsTestClient proxy;

  @BeforeEach
  void start() {
    mesh = new XdsTestbed(settings -> settings.staleAfter(STALE_AFTER));
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(WAIT).until(mesh.distributor::serving);
    proxy = new AdsTestClient(mesh.xdsPort());
    proxy.openSotw();
  }

  @AfterEach
  void stop() {
    proxy.close();
    mesh.close();
  }

  @Test
  void aProxyThatDoesNotAnswerOrRejectsIsStaleUntilItAcknowledges() {
    proxy.send(request("", "", GREETER));
    DiscoveryResponse first = proxy.nextSotw();
    await().atMost(WAIT).until(() -> mesh.distributor.staleProxies() == 1);
    assertThat(mesh.meters.get("weft.xds.proxies.stale").gauge().value()).isEqualTo(1.0);

    proxy.send(request(first.getVersionInfo(), first.getNonce(), GREETER));
    await().atMost(WAIT).until(() -> mesh.distributor.staleProxies() == 0);

    mesh.source().upsert(XdsTestbed.backendSlice(7002));
    DiscoveryResponse rejected = proxy.nextSotw();
    proxy.send(
        request(first.getVersionInfo(), rejected.getNonce(), GREETER).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected by test"))
            .build());
    // It answered, but holds an older version than the newest: stale once the threshold passes.
    await().atMost(WAIT).until(() -> mesh.distributor.staleProxies() == 1);

    mesh.source().upsert(XdsTestbed.backendSlice(7003));
    DiscoveryResponse fixed = proxy.nextSotw();
    proxy.send(request(fixed.getVersionInfo(), fixed.getNonce(), GREETER));
    await().atMost(WAIT).until(() -> mesh.distributor.staleProxies() == 0);
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
