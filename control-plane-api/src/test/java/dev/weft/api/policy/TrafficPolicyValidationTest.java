package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.traffic;
import static dev.weft.api.policy.Policies.trafficSpec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TrafficPolicyValidationTest {

  static Stream<Arguments> rejected() {
    return Stream.of(
        // Load balancing.
        rejects(
            "loadBalancer: {type: Random}",
            "spec.loadBalancer.type",
            "\"Random\" is not one of RoundRobin, LeastRequest, RingHash"),
        rejects(
            "loadBalancer: {type: RingHash}",
            "spec.loadBalancer.ringHash.hashOn",
            "a ring hash needs a key: set one of header, cookie or sourceIP"),
        rejects(
            "loadBalancer: {type: RingHash, ringHash: {hashOn: {sourceIP: false}}}",
            "spec.loadBalancer.ringHash.hashOn",
            "a ring hash needs a key: set one of header, cookie or sourceIP"),
        rejects(
            "loadBalancer: {ringHash: {hashOn: {header: x-user, cookie: session}}}",
            "spec.loadBalancer.ringHash.hashOn",
            "sets header and cookie; set exactly one"),
        rejects(
            "loadBalancer: {ringHash: {hashOn: {header: \"x user\"}}}",
            "spec.loadBalancer.ringHash.hashOn.header",
            "\"x user\" is not a valid header name"),
        rejects(
            "loadBalancer: {ringHash: {hashOn: {cookie: \"\"}}}",
            "spec.loadBalancer.ringHash.hashOn.cookie",
            "\"\" is not a valid cookie name"),
        rejects(
            "loadBalancer: {ringHash: {hashOn: {sourceIP: true}, minimumRingSize: 0}}",
            "spec.loadBalancer.ringHash.minimumRingSize",
            "0 is outside 1..8388608"),
        rejects(
            "loadBalancer: {type: LeastRequest, ringHash: {hashOn: {sourceIP: true}}}",
            "spec.loadBalancer.ringHash",
            "only applies with type RingHash, not LeastRequest"),
        // Circuit breaking.
        rejects(
            "connectionLimits: {maxConnections: 0}",
            "spec.connectionLimits.maxConnections",
            "0 is less than 1"),
        rejects(
            "connectionLimits: {maxPendingRequests: -1}",
            "spec.connectionLimits.maxPendingRequests",
            "-1 is less than 1"),
        rejects(
            "connectionLimits: {maxRequests: 0}",
            "spec.connectionLimits.maxRequests",
            "0 is less than 1"),
        rejects(
            "connectionLimits: {maxRetries: -1}",
            "spec.connectionLimits.maxRetries",
            "-1 is less than 0"),
        // Outlier detection.
        rejects(
            "outlierDetection: {consecutiveErrors: 0}",
            "spec.outlierDetection.consecutiveErrors",
            "0 is less than 1"),
        rejects(
            "outlierDetection: {consecutiveGatewayErrors: 0}",
            "spec.outlierDetection.consecutiveGatewayErrors",
            "0 is less than 1"),
        rejects(
            "outlierDetection: {interval: 0s}",
            "spec.outlierDetection.interval",
            "must be longer than 0s"),
        rejects(
            "outlierDetection: {interval: -5s}",
            "spec.outlierDetection.interval",
            "\"-5s\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)"),
        rejects(
            "outlierDetection: {baseEjectionTime: 30 seconds}",
            "spec.outlierDetection.baseEjectionTime",
            "\"30 seconds\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)"),
        rejects(
            "outlierDetection: {baseEjectionTime: 0ms}",
            "spec.outlierDetection.baseEjectionTime",
            "must be longer than 0s"),
        rejects(
            "outlierDetection: {maxEjectionPercent: 101}",
            "spec.outlierDetection.maxEjectionPercent",
            "101 is outside 0..100"),
        rejects(
            "outlierDetection: {maxEjectionPercent: -1}",
            "spec.outlierDetection.maxEjectionPercent",
            "-1 is outside 0..100"),
        // Retries.
        rejects("retry: {attempts: -1}", "spec.retry.attempts", "must not be negative"),
        rejects(
            "retry: {perTryTimeout: 3s, timeout: 2s}",
            "spec.retry.perTryTimeout",
            "must not be longer than the call's timeout (2s)"),
        rejects("retry: {perTryTimeout: 0s}", "spec.retry.perTryTimeout", "must be longer than 0s"),
        rejects(
            "retry: {timeout: 2 s}",
            "spec.retry.timeout",
            "\"2 s\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)"),
        rejects("retry: {backoff: 0s}", "spec.retry.backoff", "must be longer than 0s"),
        rejects(
            "retry: {codes: [503, 200]}", "spec.retry.codes[1]", "200 is not a status in 400..599"),
        rejects("retry: {codes: [503, null]}", "spec.retry.codes[1]", "required"),
        rejects("retry: {grpcStatuses: [null]}", "spec.retry.grpcStatuses[0]", "required"),
        rejects(
            "retry: {grpcStatuses: [UNAVAILABLE, NOT_A_STATUS]}",
            "spec.retry.grpcStatuses[1]",
            "\"NOT_A_STATUS\" is not a gRPC status (a name such as UNAVAILABLE, or a code from 1 to"
                + " 16)"),
        rejects(
            "retry: {grpcStatuses: [OK]}",
            "spec.retry.grpcStatuses[0]",
            "OK is not a failure; use a status from CANCELLED (1) to UNAUTHENTICATED (16)"));
  }

  private static Arguments rejects(String fragment, String path, String reason) {
    return Arguments.of(fragment, path, reason);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void rejectsWithFieldAndReason(String fragment, String path, String reason) {
    Validated<TrafficPolicyValues> result = PolicyValidator.validate(traffic(fragment));

    assertThat(result.errors()).containsExactly(new FieldError(path, reason));
  }

  @Test
  void rejectsAMissingSpec() {
    TrafficPolicy policy = new TrafficPolicy();

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(new FieldError("spec", "required"));
  }

  @Test
  void rejectsAPolicyThatSetsNothing() {
    TrafficPolicy policy = trafficSpec("  targetRefs: [{group: \"\", kind: Service, name: r}]\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(
            new FieldError(
                "spec",
                "sets nothing: give at least one of loadBalancer, connectionLimits,"
                    + " outlierDetection, retry"));
  }

  @Test
  void reportsEveryErrorInOnePass() {
    TrafficPolicy policy =
        trafficSpec(
            """
              targetRefs: []
              outlierDetection: {interval: 0s, maxEjectionPercent: 150}
              retry: {attempts: -2}
            """);

    assertThat(PolicyValidator.validate(policy).errors())
        .extracting(FieldError::path)
        .containsExactly(
            "spec.targetRefs",
            "spec.outlierDetection.interval",
            "spec.outlierDetection.maxEjectionPercent",
            "spec.retry.attempts");
  }

  @Test
  void fillsDefaultsForFieldsLeftOut() {
    TrafficPolicy policy = traffic("connectionLimits: {maxRequests: 10}");
    TrafficPolicyValues values = valid(PolicyValidator.validate(policy));

    assertThat(values.circuitBreaker()).contains(new CircuitBreaker(1024, 1024, 10, 3));
    assertThat(values.loadBalancing()).isEmpty();
    assertThat(values.targets())
        .containsExactly(new PolicyTarget("shop", "reviews", Optional.empty()));
  }

  @Test
  void outlierDetectionAndRetryDefaults() {
    TrafficPolicy policy =
        trafficSpec(
            """
              targetRefs: [{group: "", kind: Service, name: reviews, sectionName: v2}]
              outlierDetection: {}
              retry: {}
            """);
    TrafficPolicyValues values = valid(PolicyValidator.validate(policy));

    assertThat(values.outlierDetection())
        .contains(
            new OutlierDetection(
                5, OptionalInt.empty(), Duration.ofSeconds(10), Duration.ofSeconds(30), 10));
    assertThat(values.retry())
        .contains(
            new RetryDefaults(
                1,
                Optional.empty(),
                Optional.empty(),
                Duration.ofMillis(25),
                List.of(503),
                List.of("UNAVAILABLE")));
    assertThat(values.targets())
        .containsExactly(new PolicyTarget("shop", "reviews", Optional.of("v2")));
  }

  @Test
  void ringHashIsImpliedByItsSection() {
    TrafficPolicyValues values =
        valid(PolicyValidator.validate(traffic("loadBalancer: {ringHash: {hashOn: {cookie: s}}}")));

    assertThat(values.loadBalancing())
        .contains(
            new LoadBalancing(
                LoadBalancing.Algorithm.RING_HASH,
                Optional.of(new LoadBalancing.RingHash(new LoadBalancing.Cookie("s"), 1024)),
                LoadBalancing.LocalityFailover.DISABLED));
  }

  static <T> T valid(Validated<T> result) {
    assertThat(result.errors()).isEmpty();
    return ((Validated.Valid<T>) result).value();
  }
}
