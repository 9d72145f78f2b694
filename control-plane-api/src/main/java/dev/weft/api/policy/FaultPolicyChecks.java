package dev.weft.api.policy;

import dev.weft.api.validation.FieldErrors;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/** Validates the sections of a {@link FaultPolicySpec} and turns them into values. */
final class FaultPolicyChecks {

  private FaultPolicyChecks() {}

  static Optional<FaultInjection.Delay> delay(FaultPolicySpec.Delay spec, FieldErrors errors) {
    if (spec == null) {
      return Optional.empty();
    }
    String path = "spec.delay";
    Optional<Duration> fixed = Optional.empty();
    if (spec.getFixedDelay() == null) {
      errors.add(path + ".fixedDelay", "required");
    } else {
      fixed = PolicyFields.positiveDuration(path + ".fixedDelay", spec.getFixedDelay(), errors);
    }
    OptionalDouble percentage =
        PolicyFields.percentage(path + ".percentage", spec.getPercentage(), errors);
    if (fixed.isEmpty() || percentage.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new FaultInjection.Delay(fixed.get(), percentage.getAsDouble()));
  }

  static Optional<FaultInjection.Abort> abort(FaultPolicySpec.Abort spec, FieldErrors errors) {
    if (spec == null) {
      return Optional.empty();
    }
    String path = "spec.abort";
    OptionalDouble percentage =
        PolicyFields.percentage(path + ".percentage", spec.getPercentage(), errors);
    Integer http = spec.getHttpStatus();
    String grpc = spec.getGrpcStatus();
    if (http != null && grpc != null) {
      errors.add(path, "sets both httpStatus and grpcStatus; set exactly one");
      return Optional.empty();
    }
    if (http == null && grpc == null) {
      errors.add(path, "needs a status: set httpStatus or grpcStatus");
      return Optional.empty();
    }
    FaultInjection.Protocol protocol;
    int status;
    if (http != null) {
      if (http < 200 || http > 599) {
        errors.add(path + ".httpStatus", http + " is not an HTTP status in 200..599");
        return Optional.empty();
      }
      protocol = FaultInjection.Protocol.HTTP;
      status = http;
    } else {
      OptionalInt code = PolicyFields.grpcStatus(path + ".grpcStatus", grpc, errors);
      if (code.isEmpty()) {
        return Optional.empty();
      }
      protocol = FaultInjection.Protocol.GRPC;
      status = code.getAsInt();
    }
    if (percentage.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new FaultInjection.Abort(protocol, status, percentage.getAsDouble()));
  }
}
