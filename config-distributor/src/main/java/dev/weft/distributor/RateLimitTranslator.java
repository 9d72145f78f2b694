package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitValues;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;

/**
 * RateLimitPolicies as Envoy's local rate limit HTTP filter, on the inbound Listener of the Envoy
 * sidecar of each Pod that serves the target: one token bucket per Envoy process (per Pod), shared
 * by its worker threads and connections. Proxyless gRPC servers get nothing: gRPC has no such
 * filter, and a Listener that named one would be refused. Pure functions.
 */
final class RateLimitTranslator {

  /** The prefix of the filters' names; each ends with its target, so that names are unique. */
  static final String FILTER_PREFIX = "weft.ratelimit/";

  /** Set on every refused request's response, so that a caller can tell a limit from a failure. */
  static final String LIMITED_HEADER = "x-weft-ratelimited";

  /**
   * Runtime keys that can turn limiting off on one sidecar without a new policy (Envoy's admin
   * {@code /runtime_modify}, as percentages): {@code enforced=0} makes it a dry run, whose refusals
   * only count in the stats.
   */
  static final String ENABLED_RUNTIME_KEY = "weft.ratelimit.enabled";

  static final String ENFORCED_RUNTIME_KEY = "weft.ratelimit.enforced";

  private RateLimitTranslator() {}

  /** The filter that enforces {@code limit}, the one a RateLimitPolicy sets on {@code target}. */
  static HttpFilter filter(PolicyTarget target, RateLimitValues.LocalLimit limit) {
    String section = target.sectionName().map(port -> "." + port).orElse("");
    LocalRateLimit config =
        LocalRateLimit.newBuilder()
            .setStatPrefix(
                "weft_ratelimit." + target.namespace() + "." + target.service() + section)
            .setStatus(HttpStatus.newBuilder().setCode(StatusCode.TooManyRequests))
            .setTokenBucket(
                io.envoyproxy.envoy.type.v3.TokenBucket.newBuilder()
                    .setMaxTokens(limit.burst())
                    .setTokensPerFill(UInt32Value.of(limit.requests()))
                    .setFillInterval(PolicyTranslator.duration(limit.per())))
            // Envoy's defaults are 0 % (nothing limited, for safety); a policy limits every
            // request.
            .setFilterEnabled(everyRequest(ENABLED_RUNTIME_KEY))
            .setFilterEnforced(everyRequest(ENFORCED_RUNTIME_KEY))
            .addResponseHeadersToAdd(
                HeaderValueOption.newBuilder()
                    .setHeader(HeaderValue.newBuilder().setKey(LIMITED_HEADER).setValue("true"))
                    .setAppendAction(
                        HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
            // Envoy maps 429 to UNAVAILABLE for gRPC, as gRPC's HTTP mapping says, which callers
            // retry as an outage; RESOURCE_EXHAUSTED is what gRPC servers answer when over quota.
            .setRateLimitedAsResourceExhausted(true)
            .build();
    return HttpFilter.newBuilder()
        .setName(
            FILTER_PREFIX
                + target.namespace()
                + "/"
                + target.service()
                + target.sectionName().map(port -> ":" + port).orElse(""))
        .setTypedConfig(Any.pack(config))
        .build();
  }

  private static RuntimeFractionalPercent everyRequest(String runtimeKey) {
    return RuntimeFractionalPercent.newBuilder()
        .setDefaultValue(
            FractionalPercent.newBuilder()
                .setNumerator(100)
                .setDenominator(FractionalPercent.DenominatorType.HUNDRED))
        .setRuntimeKey(runtimeKey)
        .build();
  }
}
