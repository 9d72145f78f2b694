package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.demo.Greeter;
import dev.weft.distributor.BehavingBackend.Behaviour;
import dev.weft.registry.Rejection;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Weft's policies (TrafficPolicy, FaultPolicy) end to end: real grpc-xds clients call backends
 * through the configuration the distributor translated from them, and the tests count outcomes.
 */
class PolicyEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  private final XdsTestbed mesh = new XdsTestbed();

  @AfterEach
  void close() {
    mesh.close();
  }

  private static <T extends HasMetadata> T yaml(Class<T> type, String text) {
    return Serialization.unmarshal(text, type);
  }

  @Test
  void abortingHalfTheCallsWithUnavailableFailsHalfOfThem() {
    mesh.service("greeter", 50051, mesh.startBackend("v1"));
    mesh.source().upsert(fault("abort: {grpcStatus: UNAVAILABLE, percentage: 50}"));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    Map<String, Integer> outcomes = XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 2000);

    assertThat(outcomes).containsOnlyKeys("v1", "UNAVAILABLE");
    assertThat(outcomes.get("UNAVAILABLE") / 2000.0).isBetween(0.45, 0.55);
  }

  @Test
  void aFixedDelayIsObservedAndRemovingThePolicyRemovesIt() {
    mesh.service("greeter", 50051, mesh.startBackend("v1"));
    FaultPolicy delay = fault("delay: {fixedDelay: 200ms, percentage: 100}");
    mesh.source().upsert(delay);
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    for (int i = 0; i < 3; i++) {
      long start = System.nanoTime();
      assertThat(XdsTestbed.call(channel, DEADLINE)).isEqualTo("v1");
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(200));
    }

    mesh.source().delete(delay);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> {
              long start = System.nanoTime();
              XdsTestbed.call(channel, DEADLINE);
              return System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(100);
            });
  }

  private static FaultPolicy fault(String spec) {
    return yaml(
        FaultPolicy.class,
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: FaultPolicy
        metadata: {name: greeter-chaos, namespace: demo}
        spec:
          targetRefs: [{group: "", kind: Service, name: greeter}]
          %s
        """
            .formatted(spec));
  }

  static TrafficPolicy traffic(String spec) {
    return yaml(
        TrafficPolicy.class,
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: TrafficPolicy
        metadata: {name: greeter-traffic, namespace: demo}
        spec:
          targetRefs: [{group: "", kind: Service, name: greeter}]
        %s
        """
            .formatted(spec.indent(2)));
  }

  @Test
  void overflowBeyondTheRequestLimitIsRejectedWhileInFlightCallsFinish() {
    BehavingBackend slow =
        mesh.closeLater(new BehavingBackend("slow", Behaviour.ANSWER, Duration.ofMillis(1000)));
    mesh.service("greeter", 50051, slow.port());
    mesh.source().upsert(traffic("connectionLimits: {maxRequests: 2}"));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    XdsTestbed.call(channel, DEADLINE); // configured and connected

    List<CompletableFuture<String>> inFlight = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      inFlight.add(CompletableFuture.supplyAsync(() -> XdsTestbed.callOrStatus(channel, DEADLINE)));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> slow.inFlight() == 2);
    List<String> overflow = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      overflow.add(XdsTestbed.callOrStatus(channel, DEADLINE));
    }

    assertThat(overflow).containsOnly("UNAVAILABLE");
    assertThat(inFlight.stream().map(CompletableFuture::join)).containsOnly("slow");
  }

  @Test
  void outlierDetectionEjectsTheFailingBackendAndTrafficMovesToTheHealthyOnes() {
    BehavingBackend broken =
        mesh.closeLater(new BehavingBackend("broken", Behaviour.FAIL, Duration.ZERO));
    mesh.service(
        "greeter", 50051, mesh.startBackend("ok-1"), mesh.startBackend("ok-2"), broken.port());
    mesh.source()
        .upsert(
            traffic(
                """
                outlierDetection:
                  consecutiveErrors: 5
                  interval: 200ms
                  baseEjectionTime: 30s
                  maxEjectionPercent: 50
                """));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 30)).containsKey("UNAVAILABLE");

    List<String> window = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(5))
        .until(
            () -> {
              window.add(XdsTestbed.callOrStatus(channel, DEADLINE));
              List<String> last = window.subList(Math.max(0, window.size() - 60), window.size());
              return last.size() == 60 && !last.contains("UNAVAILABLE");
            });
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 100))
        .containsOnlyKeys("ok-1", "ok-2");
  }

  @Test
  void ringHashKeepsEveryCallWithTheSameKeyOnTheSameBackend() {
    mesh.service(
        "greeter",
        50051,
        mesh.startBackend("b1"),
        mesh.startBackend("b2"),
        mesh.startBackend("b3"));
    mesh.source()
        .upsert(traffic("loadBalancer: {type: RingHash, ringHash: {hashOn: {header: x-user}}}"));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    Set<String> used = new HashSet<>();
    for (int user = 0; user < 12; user++) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("x-user", Metadata.ASCII_STRING_MARSHALLER), "user-" + user);
      Channel keyed =
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
      Map<String, Integer> spread = XdsTestbed.outcomes(keyed, Greeter.SAY_HELLO, 25);
      assertThat(spread).as("user-" + user).hasSize(1);
      used.addAll(spread.keySet());
    }
    assertThat(used).as("keys spread over backends").hasSizeGreaterThan(1);
  }

  @Test
  void retryDefaultsFromATrafficPolicyHideAFailedFirstAttempt() {
    BehavingBackend flaky =
        mesh.closeLater(new BehavingBackend("flaky", Behaviour.FAIL_FIRST_ATTEMPT, Duration.ZERO));
    mesh.service("greeter", 50051, flaky.port());
    mesh.source()
        .upsert(traffic("retry: {attempts: 2, backoff: 10ms, grpcStatuses: [UNAVAILABLE]}"));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);

    for (int i = 0; i < 20; i++) {
      assertThat(XdsTestbed.outcome(channel, Greeter.SAY_HELLO, "request-" + i)).isEqualTo("flaky");
    }
  }

  @Test
  void anInvalidPolicyIsRejectedWithItsFieldAndTrafficIsUnchanged() {
    mesh.service("greeter", 50051, mesh.startBackend("v1"));
    mesh.source().markSynced();
    ManagedChannel channel = mesh.client(TARGET);
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 20)).containsOnlyKeys("v1");

    mesh.source().upsert(fault("abort: {grpcStatus: UNAVAILABLE, percentage: 150}"));

    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !mesh.registry.current().rejections().isEmpty());
    Rejection rejection = mesh.registry.current().rejections().iterator().next();
    assertThat(rejection.object()).isEqualTo("FaultPolicy demo/greeter-chaos");
    assertThat(rejection.errors())
        .anySatisfy(
            error -> {
              assertThat(error.path()).isEqualTo("spec.abort.percentage");
              assertThat(error.reason()).contains("100");
            });
    assertThat(XdsTestbed.outcomes(channel, Greeter.SAY_HELLO, 200)).containsOnlyKeys("v1");
  }
}
