package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.fault;
import static dev.weft.api.policy.Policies.faultSpec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FaultPolicyValidationTest {

  private static final String NOT_A_GRPC_STATUS =
      " is not a gRPC status (a name such as UNAVAILABLE, or a code from 1 to 16)";

  static Stream<Arguments> rejected() {
    return Stream.of(
        // Delay.
        Arguments.of(
            "delay: {fixedDelay: 200ms, percentage: 100.5}",
            "spec.delay.percentage",
            "100.5 is outside 0..100"),
        Arguments.of(
            "delay: {fixedDelay: 200ms, percentage: -1}",
            "spec.delay.percentage",
            "-1 is outside 0..100"),
        Arguments.of("delay: {fixedDelay: 200ms}", "spec.delay.percentage", "required"),
        Arguments.of("delay: {percentage: 10}", "spec.delay.fixedDelay", "required"),
        Arguments.of(
            "delay: {fixedDelay: 0s, percentage: 10}",
            "spec.delay.fixedDelay",
            "must be longer than 0s"),
        Arguments.of(
            "delay: {fixedDelay: -200ms, percentage: 10}",
            "spec.delay.fixedDelay",
            "\"-200ms\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)"),
        // Abort.
        Arguments.of(
            "abort: {httpStatus: 503, grpcStatus: UNAVAILABLE, percentage: 10}",
            "spec.abort",
            "sets both httpStatus and grpcStatus; set exactly one"),
        Arguments.of(
            "abort: {percentage: 10}",
            "spec.abort",
            "needs a status: set httpStatus or grpcStatus"),
        Arguments.of(
            "abort: {httpStatus: 199, percentage: 10}",
            "spec.abort.httpStatus",
            "199 is not an HTTP status in 200..599"),
        Arguments.of(
            "abort: {httpStatus: 600, percentage: 10}",
            "spec.abort.httpStatus",
            "600 is not an HTTP status in 200..599"),
        Arguments.of(
            "abort: {grpcStatus: UNAVAILBLE, percentage: 10}",
            "spec.abort.grpcStatus",
            "\"UNAVAILBLE\"" + NOT_A_GRPC_STATUS),
        Arguments.of(
            "abort: {grpcStatus: unavailable, percentage: 10}",
            "spec.abort.grpcStatus",
            "\"unavailable\"" + NOT_A_GRPC_STATUS),
        Arguments.of(
            "abort: {grpcStatus: \"17\", percentage: 10}",
            "spec.abort.grpcStatus",
            "\"17\"" + NOT_A_GRPC_STATUS),
        Arguments.of(
            "abort: {grpcStatus: OK, percentage: 10}",
            "spec.abort.grpcStatus",
            "OK is not a failure; use a status from CANCELLED (1) to UNAUTHENTICATED (16)"),
        Arguments.of(
            "abort: {httpStatus: 503, percentage: 250}",
            "spec.abort.percentage",
            "250 is outside 0..100"),
        Arguments.of("abort: {httpStatus: 503}", "spec.abort.percentage", "required"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void rejectsWithFieldAndReason(String fragment, String path, String reason) {
    assertThat(PolicyValidator.validate(fault(fragment)).errors())
        .containsExactly(new FieldError(path, reason));
  }

  @Test
  void rejectsAPolicyWithNeitherDelayNorAbort() {
    FaultPolicy policy = faultSpec("  targetRefs: [{group: \"\", kind: Service, name: r}]\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(new FieldError("spec", "sets nothing: give a delay, an abort, or both"));
  }

  @Test
  void rejectsAMissingSpec() {
    assertThat(PolicyValidator.validate(new FaultPolicy()).errors())
        .containsExactly(new FieldError("spec", "required"));
  }

  @Test
  void acceptsAGrpcStatusByCode() {
    FaultInjection values =
        TrafficPolicyValidationTest.valid(
            PolicyValidator.validate(fault("abort: {grpcStatus: \"14\", percentage: 0}")));

    assertThat(values.abort())
        .contains(new FaultInjection.Abort(FaultInjection.Protocol.GRPC, 14, 0));
    assertThat(values.delay()).isEmpty();
  }

  @Test
  void acceptsADelayAlone() {
    FaultInjection values =
        TrafficPolicyValidationTest.valid(
            PolicyValidator.validate(fault("delay: {fixedDelay: 1s, percentage: 100}")));

    assertThat(values.delay()).contains(new FaultInjection.Delay(Duration.ofSeconds(1), 100));
    assertThat(values.abort()).isEqualTo(Optional.empty());
  }
}
