package dev.weft.api.policy;

import dev.weft.api.gateway.GatewayDuration;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Checks shared by the policy kinds: target references, durations, percentages, gRPC statuses. Each
 * check records its errors and returns the parsed value, or empty when the field is absent or
 * wrong, so that one pass both validates and builds the values.
 */
final class PolicyFields {

  static final int MAX_TARGET_REFS = 16;

  // RFC 7230 token: the characters an HTTP header name (and a cookie name) may contain.
  static final Pattern TOKEN = Pattern.compile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$");

  // A DNS-1123 label, as the CRD schema's pattern (which cannot say the length) and Kubernetes
  // require of a Service's name.
  private static final Pattern SERVICE_NAME =
      Pattern.compile("^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

  // Index = code. The canonical names of grpc/status.proto, as gRPC prints them.
  private static final List<String> GRPC_STATUS_NAMES =
      List.of(
          "OK",
          "CANCELLED",
          "UNKNOWN",
          "INVALID_ARGUMENT",
          "DEADLINE_EXCEEDED",
          "NOT_FOUND",
          "ALREADY_EXISTS",
          "PERMISSION_DENIED",
          "RESOURCE_EXHAUSTED",
          "FAILED_PRECONDITION",
          "ABORTED",
          "OUT_OF_RANGE",
          "UNIMPLEMENTED",
          "INTERNAL",
          "UNAVAILABLE",
          "DATA_LOSS",
          "UNAUTHENTICATED");

  // IANA_SVC_NAME, as Kubernetes requires of a Service's port names.
  private static final Pattern PORT_NAME =
      Pattern.compile("^(?=.{1,15}$)(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

  // A manifest without a namespace lands in "default", as kubectl would put it.
  private static final String DEFAULT_NAMESPACE = "default";

  private PolicyFields() {}

  /** Checks {@code spec.targetRefs} and returns the targets it names. */
  static List<PolicyTarget> targets(
      HasMetadata policy, List<PolicyTargetReference> refs, FieldErrors errors) {
    String path = "spec.targetRefs";
    if (refs == null || refs.isEmpty()) {
      errors.add(path, "must name at least one Service");
      return List.of();
    }
    if (refs.size() > MAX_TARGET_REFS) {
      errors.add(path, refs.size() + " entries; at most " + MAX_TARGET_REFS + " are allowed");
    }
    String namespace = namespaceOf(policy);
    List<PolicyTarget> targets = new ArrayList<>();
    Map<PolicyTarget, Integer> seen = new HashMap<>();
    for (int i = 0; i < refs.size(); i++) {
      String at = FieldErrors.indexed(path, i);
      PolicyTargetReference ref = refs.get(i);
      if (ref == null) {
        errors.add(at, "required");
        continue;
      }
      boolean wellFormed = true;
      if (ref.getGroup() == null) {
        wellFormed = false;
        errors.add(at + ".group", "required; \"\" (the core group) for a Service");
      } else if (!isCoreGroup(ref.getGroup())) {
        wellFormed = false;
        errors.add(
            at + ".group",
            "\""
                + ref.getGroup()
                + "\" is not supported; a policy attaches to a Service (group \"\")");
      }
      if (!"Service".equals(ref.getKind())) {
        wellFormed = false;
        errors.add(
            at + ".kind",
            (ref.getKind() == null ? "required" : "\"" + ref.getKind() + "\" is not supported")
                + "; a policy attaches to a Service (kind: Service)");
      }
      if (ref.getName() == null || ref.getName().isEmpty()) {
        wellFormed = false;
        errors.add(at + ".name", "required");
      } else if (!SERVICE_NAME.matcher(ref.getName()).matches()) {
        wellFormed = false;
        errors.add(
            at + ".name",
            "\""
                + ref.getName()
                + "\" is not a Service name (up to 63 lowercase letters, digits and '-')");
      }
      if (ref.getSectionName() != null && ref.getSectionName().isEmpty()) {
        wellFormed = false;
        errors.add(
            at + ".sectionName", "must not be empty; leave it out to target the whole Service");
      }
      if (!wellFormed) {
        continue;
      }
      PolicyTarget target =
          new PolicyTarget(namespace, ref.getName(), Optional.ofNullable(ref.getSectionName()));
      Integer first = seen.putIfAbsent(target, i);
      if (first != null) {
        errors.add(at, "duplicates " + FieldErrors.indexed(path, first));
      } else {
        targets.add(target);
      }
    }
    return targets;
  }

  static String namespaceOf(HasMetadata policy) {
    String namespace = policy.getMetadata() == null ? null : policy.getMetadata().getNamespace();
    return namespace == null || namespace.isEmpty() ? DEFAULT_NAMESPACE : namespace;
  }

  /** Parses an optional duration that, when present, must be longer than zero. */
  static Optional<Duration> positiveDuration(String path, String text, FieldErrors errors) {
    if (text == null) {
      return Optional.empty();
    }
    Validated<Duration> parsed = GatewayDuration.parse(path, text);
    if (!(parsed instanceof Validated.Valid<Duration> valid)) {
      errors.addAll(parsed.errors());
      return Optional.empty();
    }
    if (valid.value().isZero()) {
      errors.add(path, "must be longer than 0s");
      return Optional.empty();
    }
    return Optional.of(valid.value());
  }

  /** Checks a required percentage: a number from 0 to 100. */
  static OptionalDouble percentage(String path, Double value, FieldErrors errors) {
    if (value == null) {
      errors.add(path, "required");
      return OptionalDouble.empty();
    }
    // Written so that NaN fails too.
    if (!(value >= 0 && value <= 100)) {
      errors.add(path, plain(value) + " is outside 0..100");
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(value);
  }

  /** Checks an optional integer against an inclusive lower bound; returns it or the default. */
  static int atLeast(String path, Integer value, int min, int fallback, FieldErrors errors) {
    if (value == null) {
      return fallback;
    }
    if (value < min) {
      errors.add(path, value + " is less than " + min);
    }
    return value;
  }

  /**
   * Parses a gRPC status given by name ({@code UNAVAILABLE}) or by code ({@code 14}), for aborts
   * and retries; {@code OK} is refused, as neither can use it.
   */
  static OptionalInt grpcStatus(String path, String text, FieldErrors errors) {
    int code = text == null ? -1 : GRPC_STATUS_NAMES.indexOf(text);
    if (code < 0 && text != null && text.matches("[0-9]{1,2}")) {
      code = Integer.parseInt(text);
      code = code < GRPC_STATUS_NAMES.size() ? code : -1;
    }
    if (code < 0) {
      errors.add(
          path,
          "\""
              + text
              + "\" is not a gRPC status (a name such as UNAVAILABLE, or a code from 1 to 16)");
      return OptionalInt.empty();
    }
    if (code == 0) {
      errors.add(
          path, "OK is not a failure; use a status from CANCELLED (1) to UNAUTHENTICATED (16)");
      return OptionalInt.empty();
    }
    return OptionalInt.of(code);
  }

  // 250 rather than 250.0, 0.5 as it was written.
  private static String plain(double value) {
    return Double.isFinite(value)
        ? BigDecimal.valueOf(value).stripTrailingZeros().toPlainString()
        : String.valueOf(value);
  }

  static String grpcStatusName(int code) {
    return GRPC_STATUS_NAMES.get(code);
  }

  /** Whether {@code name} can be the name of a Service's port. */
  static boolean isPortName(String name) {
    return PORT_NAME.matcher(name).matches();
  }

  static boolean isCoreGroup(String group) {
    return group == null || group.isEmpty() || "core".equals(group);
  }
}
