package dev.weft.api.policy;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import java.util.List;
import java.util.Optional;

/**
 * Validation of Weft's policy resources. Pure functions: each returns every error it finds, with
 * the field path and the reason, or the policy as plain values that a translator can use without
 * Fabric8 types. They check what the CRD schema checks and what it cannot (a ring hash without a
 * key, a per-try timeout longer than the whole call), because directory mode has no API server to
 * apply the schema.
 *
 * <p>Conflicts between valid policies are a separate question: see {@link PolicyConflicts}.
 */
public final class PolicyValidator {

  private PolicyValidator() {}

  public static Validated<TrafficPolicyValues> validate(TrafficPolicy policy) {
    TrafficPolicySpec spec = policy.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    List<PolicyTarget> targets = PolicyFields.targets(policy, spec.getTargetRefs(), errors);
    if (spec.getLoadBalancer() == null
        && spec.getConnectionLimits() == null
        && spec.getOutlierDetection() == null
        && spec.getRetry() == null) {
      errors.add(
          "spec",
          "sets nothing: give at least one of loadBalancer, connectionLimits, outlierDetection,"
              + " retry");
    }
    Optional<LoadBalancing> lb = TrafficPolicyChecks.loadBalancing(spec.getLoadBalancer(), errors);
    Optional<CircuitBreaker> limits =
        TrafficPolicyChecks.circuitBreaker(spec.getConnectionLimits(), errors);
    Optional<OutlierDetection> outliers =
        TrafficPolicyChecks.outlierDetection(spec.getOutlierDetection(), errors);
    Optional<RetryDefaults> retry = TrafficPolicyChecks.retry(spec.getRetry(), errors);
    return errors.toResult(() -> new TrafficPolicyValues(targets, lb, limits, outliers, retry));
  }

  public static Validated<AuthorizationRules> validate(AuthorizationPolicy policy) {
    AuthorizationPolicySpec spec = policy.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    List<PolicyTarget> targets = PolicyFields.targets(policy, spec.getTargetRefs(), errors);
    List<PolicyTargetReference> refs =
        spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
    for (int i = 0; i < refs.size(); i++) {
      if (refs.get(i) != null && refs.get(i).getSectionName() != null) {
        errors.add(
            FieldErrors.indexed("spec.targetRefs", i) + ".sectionName",
            "an AuthorizationPolicy applies to a whole Service: its servers enforce it, and route"
                + " rules are the callers'");
      }
    }
    List<AuthorizationRules.Rule> rules = AuthorizationPolicyChecks.rules(spec.getRules(), errors);
    AuthorizationPolicySpec.Action action =
        spec.getAction() == null ? AuthorizationPolicySpec.Action.ALLOW : spec.getAction();
    return errors.toResult(() -> new AuthorizationRules(targets, action, rules));
  }

  public static Validated<MeshTlsValues> validate(MeshTLSPolicy policy) {
    MeshTLSPolicySpec spec = policy.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    List<PolicyTarget> targets =
        spec.getTargetRefs() == null || spec.getTargetRefs().isEmpty()
            ? List.of()
            : PolicyFields.targets(policy, spec.getTargetRefs(), errors);
    List<PolicyTargetReference> refs =
        spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
    for (int i = 0; i < refs.size(); i++) {
      if (refs.get(i) != null && refs.get(i).getSectionName() != null) {
        errors.add(
            FieldErrors.indexed("spec.targetRefs", i) + ".sectionName",
            "a MeshTLSPolicy applies to a whole Service: its servers and their callers");
      }
    }
    if (spec.getMode() == null) {
      errors.add("spec.mode", "required: STRICT, PERMISSIVE or DISABLE");
    }
    return errors.toResult(() -> new MeshTlsValues(targets, spec.getMode()));
  }

  public static Validated<FaultInjection> validate(FaultPolicy policy) {
    FaultPolicySpec spec = policy.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    List<PolicyTarget> targets = PolicyFields.targets(policy, spec.getTargetRefs(), errors);
    if (spec.getDelay() == null && spec.getAbort() == null) {
      errors.add("spec", "sets nothing: give a delay, an abort, or both");
    }
    Optional<FaultInjection.Delay> delay = FaultPolicyChecks.delay(spec.getDelay(), errors);
    Optional<FaultInjection.Abort> abort = FaultPolicyChecks.abort(spec.getAbort(), errors);
    return errors.toResult(() -> new FaultInjection(targets, delay, abort));
  }

  /**
   * A RateLimitPolicy's {@code sectionName} names a port of the Service (by its name), not a route
   * rule: the limit is the receiving Pod's, which sees ports, not the rules its callers matched.
   */
  public static Validated<RateLimitValues> validate(RateLimitPolicy policy) {
    RateLimitPolicySpec spec = policy.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    List<PolicyTarget> targets = PolicyFields.targets(policy, spec.getTargetRefs(), errors);
    List<PolicyTargetReference> refs =
        spec.getTargetRefs() == null ? List.of() : spec.getTargetRefs();
    for (int i = 0; i < refs.size(); i++) {
      String section = refs.get(i) == null ? null : refs.get(i).getSectionName();
      if (section != null && !section.isEmpty() && !PolicyFields.isPortName(section)) {
        errors.add(
            FieldErrors.indexed("spec.targetRefs", i) + ".sectionName",
            "\""
                + section
                + "\" is not a port name (at most 15 lowercase letters, digits and '-'); a"
                + " RateLimitPolicy narrows to a port of the Service by its name");
      }
    }
    Optional<RateLimitValues.LocalLimit> local =
        RateLimitPolicyChecks.local(spec.getLocal(), errors);
    return errors.toResult(() -> new RateLimitValues(targets, local.orElseThrow()));
  }

  /**
   * A Telemetry covers its namespace and names no targets; what it leaves out comes from the root
   * namespace's ({@link TelemetryValues#resolve}).
   */
  public static Validated<TelemetryValues> validate(Telemetry telemetry) {
    TelemetrySpec spec = telemetry.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    FieldErrors errors = new FieldErrors();
    Optional<TelemetryValues> tracing = TelemetryChecks.tracing(spec.getTracing(), errors);
    return errors.toResult(tracing::orElseThrow);
  }
}
