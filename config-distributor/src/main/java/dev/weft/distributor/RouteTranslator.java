package dev.weft.distributor;

import com.google.protobuf.UInt32Value;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.registry.MeshService;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServicePort;
import dev.weft.registry.model.RouteMatch;
import dev.weft.registry.model.RoutePrecedence;
import dev.weft.registry.model.RouteRule;
import dev.weft.registry.model.WeightedBackend;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Translates the routes attached to a Service port (Weft's model of {@code HTTPRoute}s and {@code
 * GRPCRoute}s with Service parents, GAMMA) into its RouteConfiguration. Pure functions: the same
 * inputs give byte-identical output.
 *
 * <p>Envoy and gRPC try routes in order and take the first that matches: every (rule, match) pair
 * becomes one Route, in {@link RoutePrecedence}'s order. Once a route is attached, a request that
 * matches none of its rules gets no route (gRPC fails it with UNAVAILABLE, Envoy with 404), as
 * GAMMA specifies: the Service's default routing is replaced, not extended.
 */
final class RouteTranslator {

  /**
   * HTTP statuses a route's retry codes name, as the gRPC status a proxyless client sees for them
   * (gRPC's HTTP-to-status mapping: 429, 502, 503 and 504 become UNAVAILABLE), so that one retry
   * policy works for Envoy and for gRPC. 500 maps to INTERNAL, the status a gRPC server gives for
   * the same kind of failure.
   */
  private static final Map<Integer, String> GRPC_RETRY_ON =
      Map.of(
          429,
          "unavailable",
          502,
          "unavailable",
          503,
          "unavailable",
          504,
          "unavailable",
          500,
          "internal");

  private RouteTranslator() {}

  /**
   * The RouteConfiguration {@code name} for a port of {@code service}: its attached routes, or,
   * when none applies to the port, one route that sends everything to the port's own cluster.
   */
  static RouteConfiguration routeConfiguration(
      String name,
      MeshService service,
      ServicePort port,
      ServiceAttachments attachments,
      ResourceNames names) {
    AttachedPolicies policies = AttachedPolicies.of(service.key(), attachments);
    List<RoutePrecedence.Entry> entries =
        RoutePrecedence.order(attachments.routes(), service.key(), port.port());
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(name).addDomains("*");
    if (entries.isEmpty()) {
      Route.Builder route =
          Route.newBuilder()
              .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix(""));
      RouteAction.Builder action = RouteAction.newBuilder().setCluster(name);
      applyPolicies(route, action, policies, Optional.empty());
      host.addRoutes(route.setRoute(action));
    } else {
      for (RoutePrecedence.Entry entry : entries) {
        host.addRoutes(route(entry, names, policies));
      }
    }
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(host).build();
  }

  /**
   * One rule's match of a Gateway's route: as a Service's, without the Service's own policies
   * (those a Service's clients apply; a Gateway's routes reach the backends' clusters, whose
   * policies apply there).
   */
  static Route route(RoutePrecedence.Entry entry, ResourceNames names) {
    return route(entry, names, AttachedPolicies.NONE);
  }

  private static Route route(
      RoutePrecedence.Entry entry, ResourceNames names, AttachedPolicies policies) {
    RouteRule rule = entry.rule();
    RouteAction.Builder action = RouteAction.newBuilder();
    setClusters(action, rule.backends(), names);
    rule.requestTimeout()
        .ifPresent(
            timeout -> {
              com.google.protobuf.Duration request = PolicyTranslator.duration(timeout);
              action.setTimeout(request);
              action.setMaxStreamDuration(
                  RouteAction.MaxStreamDuration.newBuilder().setMaxStreamDuration(request));
            });
    rule.backendRequestTimeout()
        .ifPresent(
            timeout ->
                action
                    .getRetryPolicyBuilder()
                    .setPerTryTimeout(PolicyTranslator.duration(timeout)));
    rule.retry().ifPresent(retry -> applyRetry(action, retry));
    Route.Builder route = Route.newBuilder();
    applyHeaderModifier(route, rule.requestHeaders());
    for (RouteRule.Mirror mirror : rule.mirrors()) {
      action.addRequestMirrorPolicies(mirrorPolicy(mirror, names));
    }
    applyPolicies(route, action, policies, rule.name());
    // A rule that forwards nowhere must still fail its matching requests rather than let them fall
    // through to a less specific rule: a non-forwarding action does that for gRPC (UNAVAILABLE)
    // and is never forwarded by Envoy.
    if (rule.forwards()) {
      route.setRoute(action);
    } else {
      route.setNonForwardingAction(NonForwardingAction.getDefaultInstance());
    }
    return route.setName(entry.name()).setMatch(match(entry.match())).build();
  }

  /**
   * The Weft policies for one rule (no name: the Service's default route, or a rule without one):
   * retry defaults and the timeout where the route sets none, the ring-hash key of the Service's
   * load balancing, and fault injection.
   */
  private static void applyPolicies(
      Route.Builder route,
      RouteAction.Builder action,
      AttachedPolicies policies,
      Optional<String> ruleName) {
    policies
        .trafficFor(ruleName.orElse(null))
        .flatMap(TrafficPolicyValues::retry)
        .ifPresent(retry -> PolicyTranslator.applyRetryDefaults(action, retry));
    PolicyTranslator.hashPolicy(policies.traffic()).ifPresent(action::addHashPolicy);
    policies
        .faultFor(ruleName.orElse(null))
        .ifPresent(
            fault ->
                route.putTypedPerFilterConfig(
                    PolicyTranslator.FAULT_FILTER, PolicyTranslator.fault(fault)));
  }

  /** The cluster, or weighted clusters, a rule sends to. */
  private static void setClusters(
      RouteAction.Builder action, List<WeightedBackend> backends, ResourceNames names) {
    if (backends.size() == 1) {
      action.setCluster(cluster(backends.get(0), names));
    } else if (backends.size() > 1) {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      for (WeightedBackend backend : backends) {
        weighted.addClusters(
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(cluster(backend, names))
                .setWeight(UInt32Value.of(backend.weight())));
      }
      action.setWeightedClusters(weighted);
    }
  }

  private static String cluster(WeightedBackend backend, ResourceNames names) {
    return names.canonical(backend.service(), backend.port());
  }

  /**
   * The Gateway API {@code retry} field: {@code attempts} retries after the first try, on the
   * listed HTTP statuses (Envoy) and on their gRPC equivalents (proxyless gRPC, which retries on
   * gRPC statuses only; it also caps attempts at five). No codes means Envoy's and gRPC's usual
   * retriable failures: 5xx and UNAVAILABLE.
   */
  private static void applyRetry(RouteAction.Builder action, RouteRule.Retry retry) {
    RetryPolicy.Builder policy = action.getRetryPolicyBuilder();
    policy.setNumRetries(UInt32Value.of(retry.attempts()));
    Set<String> retryOn = new LinkedHashSet<>();
    if (retry.codes().isEmpty()) {
      retryOn.add("5xx");
      retryOn.add("unavailable");
    } else {
      retryOn.add("retriable-status-codes");
      for (Integer code : retry.codes()) {
        policy.addRetriableStatusCodes(code);
        String grpc = GRPC_RETRY_ON.get(code);
        if (grpc != null) {
          retryOn.add(grpc);
        }
      }
    }
    policy.setRetryOn(String.join(",", retryOn));
    retry.backoff().ifPresent(base -> policy.setRetryBackOff(PolicyTranslator.backOff(base)));
  }

  private static void applyHeaderModifier(Route.Builder route, RouteRule.HeaderModifier modifier) {
    for (RouteRule.Header header : modifier.set()) {
      route.addRequestHeadersToAdd(
          headerOption(header, HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
    for (RouteRule.Header header : modifier.add()) {
      route.addRequestHeadersToAdd(
          headerOption(header, HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD));
    }
    route.addAllRequestHeadersToRemove(modifier.remove());
  }

  private static HeaderValueOption headerOption(
      RouteRule.Header header, HeaderValueOption.HeaderAppendAction append) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(header.name()).setValue(header.value()))
        .setAppendAction(append)
        .build();
  }

  /** Mirrors a share of requests (all by default). */
  private static RouteAction.RequestMirrorPolicy mirrorPolicy(
      RouteRule.Mirror mirror, ResourceNames names) {
    RouteAction.RequestMirrorPolicy.Builder policy =
        RouteAction.RequestMirrorPolicy.newBuilder().setCluster(cluster(mirror.backend(), names));
    mirror
        .share()
        .ifPresent(
            share ->
                policy.setRuntimeFraction(
                    RuntimeFractionalPercent.newBuilder().setDefaultValue(percent(share))));
    return policy.build();
  }

  /** A percentage as hundredths; any other fraction as millionths. */
  private static FractionalPercent percent(RouteRule.Fraction share) {
    if (share.denominator() == 100) {
      return FractionalPercent.newBuilder()
          .setNumerator(share.numerator())
          .setDenominator(FractionalPercent.DenominatorType.HUNDRED)
          .build();
    }
    return FractionalPercent.newBuilder()
        .setNumerator((int) (1_000_000L * share.numerator() / share.denominator()))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  private static io.envoyproxy.envoy.config.route.v3.RouteMatch match(RouteMatch match) {
    return match instanceof RouteMatch.Http http
        ? httpMatch(http)
        : grpcMatch((RouteMatch.Grpc) match);
  }

  private static io.envoyproxy.envoy.config.route.v3.RouteMatch httpMatch(RouteMatch.Http match) {
    io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder built =
        io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder();
    String value = match.path().value();
    switch (match.path().type()) {
      case EXACT -> built.setPath(value);
      case REGULAR_EXPRESSION -> built.setSafeRegex(regex(value));
      case PREFIX -> {
        // A Gateway API prefix matches whole path segments: "/foo" matches "/foo" and "/foo/bar",
        // not "/foobar". Envoy's path_separated_prefix says that, but gRPC knows only prefix,
        // path and safe_regex, so a regular expression says it for both.
        String prefix = value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
        if (prefix.isEmpty()) {
          built.setPrefix("/");
        } else {
          built.setSafeRegex(regex("^" + quote(prefix) + "(/.*)?$"));
        }
      }
    }
    for (RouteMatch.StringMatch header : match.headers()) {
      built.addHeaders(headerMatcher(header));
    }
    match
        .method()
        .ifPresent(
            method ->
                built.addHeaders(
                    headerMatcher(new RouteMatch.StringMatch(":method", false, method))));
    for (RouteMatch.StringMatch param : match.queryParams()) {
      built.addQueryParameters(
          QueryParameterMatcher.newBuilder()
              .setName(param.name())
              .setStringMatch(stringMatcher(param)));
    }
    return built.build();
  }

  /** gRPC paths are {@code /package.Service/Method}. */
  private static io.envoyproxy.envoy.config.route.v3.RouteMatch grpcMatch(RouteMatch.Grpc match) {
    io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder built =
        io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder();
    Optional<String> service = match.service();
    Optional<String> method = match.method();
    if (match.regularExpression()) {
      built.setSafeRegex(
          regex("^/(" + service.orElse("[^/]+") + ")/(" + method.orElse("[^/]+") + ")$"));
    } else if (service.isPresent() && method.isPresent()) {
      built.setPath("/" + service.get() + "/" + method.get());
    } else if (service.isPresent()) {
      built.setPrefix("/" + service.get() + "/");
    } else if (method.isPresent()) {
      built.setSafeRegex(regex("^/[^/]+/" + quote(method.get()) + "$"));
    } else {
      built.setPrefix("/");
    }
    for (RouteMatch.StringMatch header : match.headers()) {
      built.addHeaders(headerMatcher(header));
    }
    return built.build();
  }

  private static HeaderMatcher headerMatcher(RouteMatch.StringMatch match) {
    return HeaderMatcher.newBuilder()
        .setName(match.name())
        .setStringMatch(stringMatcher(match))
        .build();
  }

  private static StringMatcher stringMatcher(RouteMatch.StringMatch match) {
    return match.regularExpression()
        ? StringMatcher.newBuilder().setSafeRegex(regex(match.value())).build()
        : StringMatcher.newBuilder().setExact(match.value()).build();
  }

  /**
   * Envoy refuses an empty regex, which the Gateway API allows for a path; Envoy and gRPC match a
   * regex against the whole value, so "^$" matches exactly what an empty one would: the empty
   * string.
   */
  private static RegexMatcher regex(String pattern) {
    return RegexMatcher.newBuilder().setRegex(pattern.isEmpty() ? "^$" : pattern).build();
  }

  /** Escapes RE2's metacharacters, so a literal matches only itself. */
  static String quote(String literal) {
    StringBuilder quoted = new StringBuilder(literal.length() + 8);
    for (int i = 0; i < literal.length(); i++) {
      char c = literal.charAt(i);
      if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) {
        quoted.append('\\');
      }
      quoted.append(c);
    }
    return quoted.toString();
  }
}
