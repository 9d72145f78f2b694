package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;
import dev.weft.api.policy.CircuitBreaker;
import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.LoadBalancing;
import dev.weft.api.policy.OutlierDetection;
import dev.weft.api.policy.RetryDefaults;
import dev.weft.api.policy.TrafficPolicyValues;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SelfConfigSource;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Translates Weft's policies into the Envoy fields that carry them, as both Envoy and proxyless
 * gRPC read them. Pure functions.
 *
 * <p>Where gRPC supports less than Envoy, Weft sets what each understands: outlier detection sets
 * Envoy's consecutive-error ejection and, for gRPC (which implements only failure-percentage and
 * success-rate ejection, gRFC A50), failure-percentage ejection with the same counts; retries list
 * HTTP codes for Envoy and gRPC status names for gRPC.
 */
final class PolicyTranslator {

  static final String FAULT_FILTER = "envoy.filters.http.fault";

  /**
   * An endpoint whose failures in one interval reach this share, over at least {@code
   * consecutiveErrors} calls, is ejected by gRPC: a failing endpoint fails nearly all its calls, a
   * healthy one under a transient blip far fewer.
   */
  private static final int FAILURE_PERCENTAGE_THRESHOLD = 50;

  /** gRPC ejects by failure percentage only among at least this many endpoints with traffic. */
  private static final int FAILURE_PERCENTAGE_MINIMUM_HOSTS = 2;

  private PolicyTranslator() {}

  /** Load balancing, circuit breaking and outlier detection of a Service's cluster. */
  static void applyToCluster(Cluster.Builder cluster, Optional<TrafficPolicyValues> policy) {
    if (policy.isEmpty()) {
      return;
    }
    policy.get().loadBalancing().ifPresent(lb -> loadBalancing(cluster, lb));
    policy.get().circuitBreaker().ifPresent(limits -> circuitBreaker(cluster, limits));
    policy.get().outlierDetection().ifPresent(outliers -> outlierDetection(cluster, outliers));
  }

  private static void loadBalancing(Cluster.Builder cluster, LoadBalancing lb) {
    switch (lb.algorithm()) {
      case ROUND_ROBIN -> cluster.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
      case LEAST_REQUEST -> cluster.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
      case RING_HASH -> {
        cluster.setLbPolicy(Cluster.LbPolicy.RING_HASH);
        lb.ringHash()
            .ifPresent(
                ring ->
                    cluster.setRingHashLbConfig(
                        Cluster.RingHashLbConfig.newBuilder()
                            .setMinimumRingSize(UInt64Value.of(ring.minimumRingSize()))));
      }
    }
  }

  /**
   * Limits, and load reporting to this control plane: grpc-java enforces {@code max_requests} only
   * on clusters that report load (see {@link LoadReportService}).
   */
  private static void circuitBreaker(Cluster.Builder cluster, CircuitBreaker limits) {
    cluster.setLrsServer(ConfigSource.newBuilder().setSelf(SelfConfigSource.getDefaultInstance()));
    cluster.setCircuitBreakers(
        CircuitBreakers.newBuilder()
            .addThresholds(
                CircuitBreakers.Thresholds.newBuilder()
                    .setMaxConnections(UInt32Value.of(limits.maxConnections()))
                    .setMaxPendingRequests(UInt32Value.of(limits.maxPendingRequests()))
                    .setMaxRequests(UInt32Value.of(limits.maxRequests()))
                    .setMaxRetries(UInt32Value.of(limits.maxRetries()))));
  }

  private static void outlierDetection(Cluster.Builder cluster, OutlierDetection outliers) {
    io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.Builder built =
        io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.newBuilder()
            .setConsecutive5Xx(UInt32Value.of(outliers.consecutiveErrors()))
            .setInterval(duration(outliers.interval()))
            .setBaseEjectionTime(duration(outliers.baseEjectionTime()))
            .setMaxEjectionPercent(UInt32Value.of(outliers.maxEjectionPercent()))
            .setFailurePercentageThreshold(UInt32Value.of(FAILURE_PERCENTAGE_THRESHOLD))
            .setEnforcingFailurePercentage(UInt32Value.of(100))
            .setFailurePercentageMinimumHosts(UInt32Value.of(FAILURE_PERCENTAGE_MINIMUM_HOSTS))
            .setFailurePercentageRequestVolume(UInt32Value.of(outliers.consecutiveErrors()));
    outliers
        .consecutiveGatewayErrors()
        .ifPresent(
            errors ->
                built
                    .setConsecutiveGatewayFailure(UInt32Value.of(errors))
                    .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100)));
    cluster.setOutlierDetection(built);
  }

  /** The hash a ring-hash cluster needs from the route that sends to it. */
  static Optional<RouteAction.HashPolicy> hashPolicy(Optional<TrafficPolicyValues> policy) {
    Optional<LoadBalancing.RingHash> ring =
        policy.flatMap(TrafficPolicyValues::loadBalancing).flatMap(LoadBalancing::ringHash);
    if (ring.isEmpty()) {
      return Optional.empty();
    }
    RouteAction.HashPolicy.Builder hash = RouteAction.HashPolicy.newBuilder();
    LoadBalancing.HashKey key = ring.get().key();
    if (key instanceof LoadBalancing.Header header) {
      hash.setHeader(
          RouteAction.HashPolicy.Header.newBuilder()
              .setHeaderName(header.name().toLowerCase(Locale.ROOT)));
    } else if (key instanceof LoadBalancing.Cookie cookie) {
      hash.setCookie(RouteAction.HashPolicy.Cookie.newBuilder().setName(cookie.name()));
    } else {
      hash.setConnectionProperties(
          RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
    }
    return Optional.of(hash.build());
  }

  /**
   * A TrafficPolicy's retry defaults, for a route that sets no retry of its own; its overall
   * timeout likewise, unless the route has one.
   */
  static void applyRetryDefaults(RouteAction.Builder action, RetryDefaults retry) {
    if (!action.hasRetryPolicy() || !action.getRetryPolicy().hasNumRetries()) {
      RetryPolicy.Builder policy = action.getRetryPolicyBuilder();
      policy.setNumRetries(UInt32Value.of(retry.attempts()));
      Set<String> retryOn = new LinkedHashSet<>();
      if (!retry.httpCodes().isEmpty()) {
        retryOn.add("retriable-status-codes");
        policy.addAllRetriableStatusCodes(retry.httpCodes());
      }
      for (String status : retry.grpcStatuses()) {
        retryOn.add(status.toLowerCase(Locale.ROOT).replace('_', '-'));
      }
      policy.setRetryOn(String.join(",", retryOn));
      retry.perTryTimeout().ifPresent(timeout -> policy.setPerTryTimeout(duration(timeout)));
      if (!retry.backoff().isZero()) {
        policy.setRetryBackOff(backOff(retry.backoff()));
      }
    }
    retry
        .timeout()
        .filter(timeout -> !action.hasTimeout())
        .ifPresent(
            timeout -> {
              action.setTimeout(duration(timeout));
              action.setMaxStreamDuration(
                  RouteAction.MaxStreamDuration.newBuilder()
                      .setMaxStreamDuration(duration(timeout)));
            });
  }

  /** The fault filter's per-route configuration for a FaultPolicy. */
  static Any fault(FaultInjection fault) {
    HTTPFault.Builder built = HTTPFault.newBuilder();
    fault
        .delay()
        .ifPresent(
            delay ->
                built.setDelay(
                    FaultDelay.newBuilder()
                        .setFixedDelay(duration(delay.fixedDelay()))
                        .setPercentage(percent(delay.percentage()))));
    fault
        .abort()
        .ifPresent(
            abort -> {
              FaultAbort.Builder aborted = FaultAbort.newBuilder();
              if (abort.protocol() == FaultInjection.Protocol.GRPC) {
                aborted.setGrpcStatus(abort.status());
              } else {
                aborted.setHttpStatus(abort.status());
              }
              built.setAbort(aborted.setPercentage(percent(abort.percentage())));
            });
    return Any.pack(built.build());
  }

  /** A percentage in 0..100 with up to four decimals, as parts per million. */
  private static FractionalPercent percent(double percentage) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percentage * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  /**
   * Exponential retry back-off from {@code base}, capped at ten times it (Envoy's own default cap),
   * for routes' retries and policies' retry defaults alike.
   */
  static RetryPolicy.RetryBackOff backOff(Duration base) {
    return RetryPolicy.RetryBackOff.newBuilder()
        .setBaseInterval(duration(base))
        .setMaxInterval(duration(base.multipliedBy(10)))
        .build();
  }

  static com.google.protobuf.Duration duration(Duration duration) {
    return Durations.fromNanos(duration.toNanos());
  }
}
