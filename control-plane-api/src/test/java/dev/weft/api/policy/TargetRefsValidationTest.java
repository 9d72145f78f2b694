package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.faultSpec;
import static dev.weft.api.policy.Policies.rateLimitSpec;
import static dev.weft.api.policy.Policies.trafficSpec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code spec.targetRefs} rules, the same for every policy kind. */
class TargetRefsValidationTest {

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of("targetRefs: []", "spec.targetRefs", "must name at least one Service"),
        Arguments.of("# no targetRefs", "spec.targetRefs", "must name at least one Service"),
        Arguments.of(
            "targetRefs: [{group: \"\", kind: HTTPRoute, name: r}]",
            "spec.targetRefs[0].kind",
            "\"HTTPRoute\" is not supported; a policy attaches to a Service (kind: Service)"),
        Arguments.of(
            "targetRefs: [{group: \"\", name: r}]",
            "spec.targetRefs[0].kind",
            "required; a policy attaches to a Service (kind: Service)"),
        Arguments.of(
            "targetRefs: [{group: gateway.networking.k8s.io, kind: Service, name: r}]",
            "spec.targetRefs[0].group",
            "\"gateway.networking.k8s.io\" is not supported; a policy attaches to a Service"
                + " (group \"\")"),
        Arguments.of(
            "targetRefs: [{group: \"\", kind: Service}]", "spec.targetRefs[0].name", "required"),
        Arguments.of("targetRefs: [null]", "spec.targetRefs[0]", "required"),
        Arguments.of(
            "targetRefs: [{group: \"\", kind: Service, name: Reviews}]",
            "spec.targetRefs[0].name",
            "\"Reviews\" is not a Service name (up to 63 lowercase letters, digits and '-')"),
        Arguments.of(
            "targetRefs: [{kind: Service, name: r}]",
            "spec.targetRefs[0].group",
            "required; \"\" (the core group) for a Service"),
        Arguments.of(
            "targetRefs: [{group: \"\", kind: Service, name: r, sectionName: \"\"}]",
            "spec.targetRefs[0].sectionName",
            "must not be empty; leave it out to target the whole Service"),
        Arguments.of(
            "targetRefs: [{group: \"\", kind: Service, name: r}, {group: core, kind: Service, name: r}]",
            "spec.targetRefs[1]",
            "duplicates spec.targetRefs[0]"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void trafficPolicyRejects(String targetRefs, String path, String reason) {
    TrafficPolicy policy = trafficSpec("  " + targetRefs + "\n  retry: {attempts: 1}\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(new FieldError(path, reason));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void faultPolicyRejects(String targetRefs, String path, String reason) {
    FaultPolicy policy =
        faultSpec("  " + targetRefs + "\n  abort: {httpStatus: 503, percentage: 1}\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(new FieldError(path, reason));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("rejected")
  void rateLimitPolicyRejects(String targetRefs, String path, String reason) {
    RateLimitPolicy policy =
        rateLimitSpec("  " + targetRefs + "\n  local: {requests: 10, per: 1s}\n");

    assertThat(PolicyValidator.validate(policy).errors())
        .containsExactly(new FieldError(path, reason));
  }
}
