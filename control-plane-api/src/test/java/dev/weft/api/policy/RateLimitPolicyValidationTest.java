package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.rateLimit;
import static dev.weft.api.policy.Policies.rateLimitSpec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RateLimitPolicyValidationTest {

  private static final String TOO_SHORT =
      " is shorter than 50ms, the shortest period Envoy fills a bucket at; give a longer period"
          + " and scale requests with it";

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of("local: {per: 1s}", "spec.local.requests", "required"),
        Arguments.of("local: {requests: 0, per: 1s}", "spec.local.requests", "0 is less than 1"),
        Arguments.of("local: {requests: -5, per: 1s}", "spec.local.requests", "-5 is less than 1"),
        Arguments.of("local: {requests: 10}", "spec.local.per", "required"),
        Arguments.of("local: {requests: 10, per: 0s}", "spec.local.per", "must be longer than 0s"),
        Arguments.of("local: {requests: 10, per: 49ms}", "spec.local.per", "49ms" + TOO_SHORT),
        Arguments.of(
            "local: {requests: 10, per: 1sec}",
            "spec.local.per",
            "\"1sec\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)"),
        Arguments.of(
            "local: {requests: 10, per: 1s, burst: 9}",
            "spec.local.burst",
            "9 is less than requests (10): the bucket must hold what one period adds"),
        Arguments.of(
            "local: {requests: 10, per: 1s, burst: 0}",
            "spec.local.burst",
            "0 is less than requests (10): the bucket must hold what one period adds"),
        Arguments.of("local: null", "spec.local", "required: give requests and per"),
        Arguments.of("# no local", "spec.local", "required: give requests and per"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void rejectsWithFieldAndReason(String fragment, String path, String reason) {
    assertThat(PolicyValidator.validate(rateLimit(fragment)).errors())
        .containsExactly(new FieldError(path, reason));
  }

  @Test
  void reportsEveryErrorAtOnce() {
    assertThat(PolicyValidator.validate(rateLimit("local: {per: 1s, burst: 0}")).errors())
        .containsExactly(
            new FieldError("spec.local.requests", "required"),
            new FieldError("spec.local.burst", "0 is less than 1"));
  }

  @Test
  void rejectsASectionThatIsNotAPortName() {
    RateLimitPolicy policy =
        rateLimitSpec(
            "  targetRefs: [{group: \"\", kind: Service, name: reviews, sectionName: Canary_Rule}]\n"
                + "  local: {requests: 10, per: 1s}\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(
            new FieldError(
                "spec.targetRefs[0].sectionName",
                "\"Canary_Rule\" is not a port name (at most 15 lowercase letters, digits and '-');"
                    + " a RateLimitPolicy narrows to a port of the Service by its name"));
  }

  @Test
  void rejectsAMissingSpec() {
    assertThat(PolicyValidator.validate(new RateLimitPolicy()).errors())
        .containsExactly(new FieldError("spec", "required"));
  }

  @Test
  void burstDefaultsToRequests() {
    RateLimitValues values =
        TrafficPolicyValidationTest.valid(
            PolicyValidator.validate(rateLimit("local: {requests: 20, per: 1m}")));

    assertThat(values.local())
        .isEqualTo(new RateLimitValues.LocalLimit(20, Duration.ofMinutes(1), 20));
  }

  @Test
  void acceptsThe50msFloorAndAPort() {
    RateLimitPolicy policy =
        rateLimitSpec(
            "  targetRefs: [{group: \"\", kind: Service, name: reviews, sectionName: grpc-api}]\n"
                + "  local: {requests: 1, per: 50ms, burst: 5}\n");

    RateLimitValues values = TrafficPolicyValidationTest.valid(PolicyValidator.validate(policy));

    assertThat(values.targets())
        .containsExactly(new PolicyTarget("shop", "reviews", Optional.of("grpc-api")));
    assertThat(values.local())
        .isEqualTo(new RateLimitValues.LocalLimit(1, Duration.ofMillis(50), 5));
  }
}
