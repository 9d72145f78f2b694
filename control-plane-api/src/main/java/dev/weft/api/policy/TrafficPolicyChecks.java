package dev.weft.api.policy;

import dev.weft.api.policy.LoadBalancing.Algorithm;
import dev.weft.api.policy.LoadBalancing.HashKey;
import dev.weft.api.policy.LoadBalancing.LocalityFailover;
import dev.weft.api.validation.FieldErrors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** Validates the sections of a {@link TrafficPolicySpec} and turns them into values. */
final class TrafficPolicyChecks {

  // Envoy's ring hash bounds: its default minimum and the largest ring it builds.
  private static final int DEFAULT_MINIMUM_RING_SIZE = 1024;
  private static final int MAX_RING_SIZE = 8_388_608;

  private TrafficPolicyChecks() {}

  static Optional<LoadBalancing> loadBalancing(
      TrafficPolicySpec.LoadBalancer lb, FieldErrors errors) {
    if (lb == null) {
      return Optional.empty();
    }
    String path = "spec.loadBalancer";
    // A ring hash section says what is wanted; writing the type as well is not required.
    String type =
        lb.getType() != null ? lb.getType() : lb.getRingHash() != null ? "RingHash" : "RoundRobin";
    Algorithm algorithm =
        switch (type) {
          case "RoundRobin" -> Algorithm.ROUND_ROBIN;
          case "LeastRequest" -> Algorithm.LEAST_REQUEST;
          case "RingHash" -> Algorithm.RING_HASH;
          default -> {
            errors.add(
                path + ".type",
                "\"" + type + "\" is not one of RoundRobin, LeastRequest, RingHash");
            yield null;
          }
        };
    Optional<LoadBalancing.RingHash> ringHash = Optional.empty();
    if (algorithm == Algorithm.RING_HASH) {
      ringHash = ringHash(path + ".ringHash", lb.getRingHash(), errors);
    } else if (algorithm != null && lb.getRingHash() != null) {
      errors.add(path + ".ringHash", "only applies with type RingHash, not " + type);
    }
    LocalityFailover failover =
        lb.getLocalityFailover() != null
                && Boolean.TRUE.equals(lb.getLocalityFailover().getEnabled())
            ? LocalityFailover.ENABLED
            : LocalityFailover.DISABLED;
    if (algorithm == null || (algorithm == Algorithm.RING_HASH && ringHash.isEmpty())) {
      return Optional.empty();
    }
    return Optional.of(new LoadBalancing(algorithm, ringHash, failover));
  }

  private static Optional<LoadBalancing.RingHash> ringHash(
      String path, TrafficPolicySpec.RingHash spec, FieldErrors errors) {
    TrafficPolicySpec.HashOn hashOn = spec == null ? null : spec.getHashOn();
    Optional<HashKey> key = hashKey(path + ".hashOn", hashOn, errors);
    int size = DEFAULT_MINIMUM_RING_SIZE;
    if (spec != null && spec.getMinimumRingSize() != null) {
      size = spec.getMinimumRingSize();
      if (size < 1 || size > MAX_RING_SIZE) {
        errors.add(path + ".minimumRingSize", size + " is outside 1.." + MAX_RING_SIZE);
      }
    }
    int ringSize = size;
    return key.map(k -> new LoadBalancing.RingHash(k, ringSize));
  }

  private static Optional<HashKey> hashKey(
      String path, TrafficPolicySpec.HashOn hashOn, FieldErrors errors) {
    List<String> set = new ArrayList<>();
    if (hashOn != null) {
      if (hashOn.getHeader() != null) {
        set.add("header");
      }
      if (hashOn.getCookie() != null) {
        set.add("cookie");
      }
      if (Boolean.TRUE.equals(hashOn.getSourceIp())) {
        set.add("sourceIP");
      }
    }
    if (set.isEmpty()) {
      errors.add(path, "a ring hash needs a key: set one of header, cookie or sourceIP");
      return Optional.empty();
    }
    if (set.size() > 1) {
      errors.add(path, "sets " + String.join(" and ", set) + "; set exactly one");
      return Optional.empty();
    }
    return switch (set.get(0)) {
      case "header" ->
          token(path + ".header", hashOn.getHeader(), "header", errors)
              .map(LoadBalancing.Header::new);
      case "cookie" ->
          token(path + ".cookie", hashOn.getCookie(), "cookie", errors)
              .map(LoadBalancing.Cookie::new);
      default -> Optional.of(new LoadBalancing.SourceIp());
    };
  }

  private static Optional<String> token(String path, String name, String what, FieldErrors errors) {
    if (!PolicyFields.TOKEN.matcher(name).matches()) {
      errors.add(path, "\"" + name + "\" is not a valid " + what + " name");
      return Optional.empty();
    }
    return Optional.of(name);
  }

  static Optional<CircuitBreaker> circuitBreaker(
      TrafficPolicySpec.ConnectionLimits limits, FieldErrors errors) {
    if (limits == null) {
      return Optional.empty();
    }
    String path = "spec.connectionLimits";
    int connections =
        PolicyFields.atLeast(
            path + ".maxConnections",
            limits.getMaxConnections(),
            1,
            CircuitBreaker.DEFAULT_LIMIT,
            errors);
    int pending =
        PolicyFields.atLeast(
            path + ".maxPendingRequests",
            limits.getMaxPendingRequests(),
            1,
            CircuitBreaker.DEFAULT_LIMIT,
            errors);
    int requests =
        PolicyFields.atLeast(
            path + ".maxRequests",
            limits.getMaxRequests(),
            1,
            CircuitBreaker.DEFAULT_LIMIT,
            errors);
    int retries =
        PolicyFields.atLeast(
            path + ".maxRetries",
            limits.getMaxRetries(),
            0,
            CircuitBreaker.DEFAULT_MAX_RETRIES,
            errors);
    return Optional.of(new CircuitBreaker(connections, pending, requests, retries));
  }

  static Optional<OutlierDetection> outlierDetection(
      TrafficPolicySpec.OutlierDetection spec, FieldErrors errors) {
    if (spec == null) {
      return Optional.empty();
    }
    String path = "spec.outlierDetection";
    int consecutive =
        PolicyFields.atLeast(
            path + ".consecutiveErrors",
            spec.getConsecutiveErrors(),
            1,
            OutlierDetection.DEFAULT_CONSECUTIVE_ERRORS,
            errors);
    OptionalInt gateway =
        spec.getConsecutiveGatewayErrors() == null
            ? OptionalInt.empty()
            : OptionalInt.of(
                PolicyFields.atLeast(
                    path + ".consecutiveGatewayErrors",
                    spec.getConsecutiveGatewayErrors(),
                    1,
                    0,
                    errors));
    Duration interval =
        PolicyFields.positiveDuration(path + ".interval", spec.getInterval(), errors)
            .orElse(OutlierDetection.DEFAULT_INTERVAL);
    Duration ejection =
        PolicyFields.positiveDuration(
                path + ".baseEjectionTime", spec.getBaseEjectionTime(), errors)
            .orElse(OutlierDetection.DEFAULT_BASE_EJECTION_TIME);
    int maxPercent = OutlierDetection.DEFAULT_MAX_EJECTION_PERCENT;
    if (spec.getMaxEjectionPercent() != null) {
      maxPercent = spec.getMaxEjectionPercent();
      if (maxPercent < 0 || maxPercent > 100) {
        errors.add(path + ".maxEjectionPercent", maxPercent + " is outside 0..100");
      }
    }
    return Optional.of(new OutlierDetection(consecutive, gateway, interval, ejection, maxPercent));
  }

  static Optional<RetryDefaults> retry(TrafficPolicySpec.Retry spec, FieldErrors errors) {
    if (spec == null) {
      return Optional.empty();
    }
    String path = "spec.retry";
    // Envoy retries once when a retry policy gives no count.
    int attempts = 1;
    if (spec.getAttempts() != null) {
      attempts = spec.getAttempts();
      if (attempts < 0) {
        errors.add(path + ".attempts", "must not be negative");
      }
    }
    Optional<Duration> perTry =
        PolicyFields.positiveDuration(path + ".perTryTimeout", spec.getPerTryTimeout(), errors);
    Optional<Duration> timeout =
        PolicyFields.positiveDuration(path + ".timeout", spec.getTimeout(), errors);
    if (perTry.isPresent() && timeout.isPresent() && perTry.get().compareTo(timeout.get()) > 0) {
      errors.add(
          path + ".perTryTimeout",
          "must not be longer than the call's timeout (" + spec.getTimeout() + ")");
    }
    Duration backoff =
        PolicyFields.positiveDuration(path + ".backoff", spec.getBackoff(), errors)
            .orElse(RetryDefaults.DEFAULT_BACKOFF);
    List<Integer> codes = new ArrayList<>();
    List<Integer> given = spec.getCodes() == null ? List.of() : spec.getCodes();
    for (int c = 0; c < given.size(); c++) {
      String at = FieldErrors.indexed(path + ".codes", c);
      Integer code = given.get(c);
      if (!errors.checkPresent(at, code)) {
        continue;
      }
      if (code < 400 || code > 599) {
        errors.add(at, code + " is not a status in 400..599");
      } else {
        codes.add(code);
      }
    }
    List<String> statuses = new ArrayList<>();
    List<String> names = spec.getGrpcStatuses() == null ? List.of() : spec.getGrpcStatuses();
    for (int s = 0; s < names.size(); s++) {
      String at = FieldErrors.indexed(path + ".grpcStatuses", s);
      if (errors.checkPresent(at, names.get(s))) {
        PolicyFields.grpcStatus(at, names.get(s), errors)
            .ifPresent(code -> statuses.add(PolicyFields.grpcStatusName(code)));
      }
    }
    if (given.isEmpty() && names.isEmpty()) {
      codes.addAll(RetryDefaults.DEFAULT_HTTP_CODES);
      statuses.addAll(RetryDefaults.DEFAULT_GRPC_STATUSES);
    }
    return Optional.of(new RetryDefaults(attempts, perTry, timeout, backoff, codes, statuses));
  }
}
