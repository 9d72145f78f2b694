package dev.weft.api.policy;

import dev.weft.api.validation.FieldErrors;
import java.time.Duration;
import java.util.Optional;

/** Validates the sections of a {@link RateLimitPolicySpec} and turns them into values. */
final class RateLimitPolicyChecks {

  private RateLimitPolicyChecks() {}

  static Optional<RateLimitValues.LocalLimit> local(
      RateLimitPolicySpec.Local spec, FieldErrors errors) {
    String path = "spec.local";
    if (spec == null) {
      errors.add(path, "required: give requests and per");
      return Optional.empty();
    }
    boolean valid = true;
    Integer requests = spec.getRequests();
    if (requests == null) {
      valid = false;
      errors.add(path + ".requests", "required");
    } else if (requests < 1) {
      valid = false;
      errors.add(path + ".requests", requests + " is less than 1");
    }
    Optional<Duration> per = Optional.empty();
    if (spec.getPer() == null) {
      errors.add(path + ".per", "required");
    } else {
      per = PolicyFields.positiveDuration(path + ".per", spec.getPer(), errors);
      Duration floor = RateLimitValues.LocalLimit.MIN_PERIOD;
      if (per.isPresent() && per.get().compareTo(floor) < 0) {
        errors.add(
            path + ".per",
            spec.getPer()
                + " is shorter than "
                + floor.toMillis()
                + "ms, the shortest period Envoy fills a bucket at; give a longer period and"
                + " scale requests with it");
        per = Optional.empty();
      }
    }
    Integer burst = spec.getBurst();
    if (burst != null && requests != null && requests >= 1 && burst < requests) {
      valid = false;
      errors.add(
          path + ".burst",
          burst
              + " is less than requests ("
              + requests
              + "): the bucket must hold what one period adds");
    } else if (burst != null && burst < 1) {
      valid = false;
      errors.add(path + ".burst", burst + " is less than 1");
    }
    if (!valid || per.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new RateLimitValues.LocalLimit(requests, per.get(), burst == null ? requests : burst));
  }
}
