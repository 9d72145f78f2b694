package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.demo.Greeter;
import dev.weft.distributor.BehavingBackend.Behaviour;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Gateway API routes attached to a Service, end to end: the registry takes HTTPRoutes and
 * GRPCRoutes, the distributor translates them, and real grpc-xds clients route their calls by them.
 * Every assertion counts calls that reached each backend.
 */
class RoutingEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

  private final XdsTestbed mesh = new XdsTestbed();

  @AfterEach
  void close() {
    mesh.close();
  }

  /** greeter (the parent, with its own backend "stable") and greeter-v1, greeter-v2 as backends. */
  private void canaryServices() {
    mesh.service("greeter", 50051, mesh.startBackend("stable"));
    mesh.service("greeter-v1", 50051, mesh.startBackend("v1"));
    mesh.service("greeter-v2", 50051, mesh.startBackend("v2"));
  }

  static HTTPRoute split(int v1, int v2) {
    return route(
        HTTPRoute.class,
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: greeter-canary, namespace: demo}
        spec:
          parentRefs: [{group: "", kind: Service, name: greeter, port: 50051}]
          rules:
          - backendRefs:
            - {name: greeter-v1, port: 50051, weight: %d}
            - {name: greeter-v2, port: 50051, weight: %d}
        """
            .formatted(v1, v2));
  }

  @Test
  void weightedSplitHoldsAndWeightEditsTakeEffectWithinOneSecond() {
    canaryServices();
    mesh.source().upsert(split(90, 10));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    Map<String, Integer> spread = XdsTestbed.spread(channel, 2000);
    assertThat(spread).containsOnlyKeys("v1", "v2");
    assertThat(spread.get("v2") / 2000.0).isBetween(0.07, 0.13);

    mesh.source().upsert(split(50, 50));
    Deque<String> window = new ArrayDeque<>();
    await()
        .atMost(Duration.ofSeconds(1))
        .pollInterval(Duration.ZERO)
        .until(() -> shareInWindow(channel, window, "v2") >= 0.35);
    Map<String, Integer> even = XdsTestbed.spread(channel, 1000);
    assertThat(even.get("v2") / 1000.0).isBetween(0.44, 0.56);

    mesh.source().upsert(split(0, 100));
    window.clear();
    await()
        .atMost(Duration.ofSeconds(1))
        .pollInterval(Duration.ZERO)
        .until(() -> shareInWindow(channel, window, "v2") == 1.0);
    assertThat(XdsTestbed.spread(channel, 200)).containsOnlyKeys("v2");
  }

  @Test
  void anInvalidEditIsRejectedWithItsFieldAndTheLastGoodSplitKeepsServing() {
    canaryServices();
    mesh.source().upsert(split(90, 10));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    assertThat(XdsTestbed.spread(channel, 50)).containsKey("v1");

    mesh.source().upsert(split(0, 0));

    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !mesh.registry.current().rejections().isEmpty());
    assertThat(mesh.registry.current().rejections())
        .singleElement()
        .satisfies(
            rejection -> {
              assertThat(rejection.object()).isEqualTo("HTTPRoute demo/greeter-canary");
              assertThat(rejection.errors())
                  .anySatisfy(
                      error -> {
                        assertThat(error.path()).isEqualTo("spec.rules[0].backendRefs");
                        assertThat(error.reason()).contains("every weight is 0");
                      });
            });
    Map<String, Integer> spread = XdsTestbed.spread(channel, 1000);
    assertThat(spread).containsOnlyKeys("v1", "v2");
    assertThat(spread.get("v2") / 1000.0).isBetween(0.05, 0.15);
  }

  /** Makes one call and returns the share of {@code backend} among the last 100 (or fewer). */
  private static double shareInWindow(
      ManagedChannel channel, Deque<String> window, String backend) {
    window.addLast(XdsTestbed.call(channel, CALL_DEADLINE));
    if (window.size() > 100) {
      window.removeFirst();
    }
    if (window.size() < 20) {
      return -1;
    }
    return window.stream().filter(backend::equals).count() / (double) window.size();
  }

  @Test
  void headerMatchSendsOnlyMatchingCallsToTheCanary() {
    canaryServices();
    mesh.source()
        .upsert(
            route(
                HTTPRoute.class,
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: greeter-by-header, namespace: demo}
                spec:
                  parentRefs: [{kind: Service, name: greeter}]
                  rules:
                  - matches: [{headers: [{name: x-canary, value: "true"}]}]
                    backendRefs: [{name: greeter-v2, port: 50051}]
                  - backendRefs: [{name: greeter-v1, port: 50051}]
                """));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    Metadata canary = new Metadata();
    canary.put(Metadata.Key.of("x-canary", Metadata.ASCII_STRING_MARSHALLER), "true");
    Channel withHeader =
        ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(canary));

    assertThat(XdsTestbed.outcomes(withHeader, Greeter.SAY_HELLO, 200))
        .containsExactly(Map.entry("v2", 200));
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 200))
        .containsExactly(Map.entry("v1", 200));
  }

  @Test
  void grpcMethodMatchSendsOnlyThatMethodToTheCanary() {
    canaryServices();
    mesh.source()
        .upsert(
            route(
                GRPCRoute.class,
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: greeter-by-method, namespace: demo}
                spec:
                  parentRefs: [{kind: Service, name: greeter, port: 50051}]
                  rules:
                  - matches: [{method: {service: weft.demo.Greeter, method: SayGoodbye}}]
                    backendRefs: [{name: greeter-v2, port: 50051}]
                  - backendRefs: [{name: greeter-v1, port: 50051}]
                """));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_GOODBYE, 200))
        .containsExactly(Map.entry("v2", 200));
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 200))
        .containsExactly(Map.entry("v1", 200));
  }

  @Test
  void aRequestTimeoutShorterThanTheBackendGivesDeadlineExceeded() {
    BehavingBackend slow =
        mesh.closeLater(new BehavingBackend("slow", Behaviour.ANSWER, Duration.ofMillis(500)));
    mesh.service("greeter", 50051, slow.port());
    mesh.source()
        .upsert(
            route(
                HTTPRoute.class,
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: greeter-timeout, namespace: demo}
                spec:
                  parentRefs: [{kind: Service, name: greeter}]
                  rules:
                  - backendRefs: [{name: greeter, port: 50051}]
                    timeouts: {request: 100ms}
                """));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    long start = System.nanoTime();
    assertThat(XdsTestbed.callOrStatus(channel, CALL_DEADLINE)).isEqualTo("DEADLINE_EXCEEDED");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(450));
  }

  @Test
  void aRetryPolicyHidesAFailedFirstAttemptAndWithoutOneTheCallerSeesIt() {
    BehavingBackend flaky =
        mesh.closeLater(new BehavingBackend("flaky", Behaviour.FAIL_FIRST_ATTEMPT, Duration.ZERO));
    mesh.service("greeter", 50051, flaky.port());
    mesh.source().upsert(retryRoute(2));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    for (int i = 0; i < 20; i++) {
      assertThat(XdsTestbed.outcome(channel, Greeter.SAY_HELLO, "with-retry-" + i))
          .isEqualTo("flaky");
    }
    assertThat(flaky.calls()).isEqualTo(40);

    mesh.source().upsert(retryRoute(0));
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                XdsTestbed.outcome(channel, Greeter.SAY_HELLO, "probe-" + System.nanoTime())
                    .equals("UNAVAILABLE"));
    for (int i = 0; i < 20; i++) {
      assertThat(XdsTestbed.outcome(channel, Greeter.SAY_HELLO, "without-retry-" + i))
          .isEqualTo("UNAVAILABLE");
    }
  }

  private static HTTPRoute retryRoute(int attempts) {
    return route(
        HTTPRoute.class,
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: greeter-retry, namespace: demo}
        spec:
          parentRefs: [{kind: Service, name: greeter}]
          rules:
          - backendRefs: [{name: greeter, port: 50051}]
            retry: {attempts: %d, codes: [503], backoff: 10ms}
        """
            .formatted(attempts));
  }

  @Test
  void aRuleWhoseBackendDoesNotExistFailsFastAndTheOtherRulesKeepServing() {
    canaryServices();
    mesh.source()
        .upsert(
            route(
                GRPCRoute.class,
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: greeter-missing, namespace: demo}
                spec:
                  parentRefs: [{kind: Service, name: greeter}]
                  rules:
                  - matches: [{method: {method: SayGoodbye}}]
                    backendRefs: [{name: greeter-v9, port: 50051}]
                  - backendRefs: [{name: greeter-v1, port: 50051}]
                """));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 50))
        .containsExactly(Map.entry("v1", 50));
    long start = System.nanoTime();
    assertThat(XdsTestbed.outcome(channel, Greeter.SAY_GOODBYE, "test")).isEqualTo("UNAVAILABLE");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  static <T extends HasMetadata> T route(Class<T> type, String yaml) {
    return Serialization.unmarshal(yaml, type);
  }
}
