package dev.weft.distributor;

import com.google.protobuf.UInt32Value;
import dev.weft.api.gateway.GatewayDuration;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.api.validation.Validated;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshService;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
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
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.BackendObjectReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCMethodMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeader;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPPathMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPQueryParamMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRequestMirrorFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRetry;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteTimeouts;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Translates the Gateway API routes attached to a Service port ({@code HTTPRoute}, {@code
 * GRPCRoute} with Service parents, GAMMA) into its RouteConfiguration. Pure functions: the same
 * inputs give byte-identical output.
 *
 * <p>Envoy and gRPC try routes in order and take the first that matches, so every (rule, match)
 * pair becomes one Route, sorted by the Gateway API's precedence: GRPCRoutes before HTTPRoutes;
 * among HTTPRoutes an exact path, then the longest prefix, then a method match, then the most
 * header matches, then the most query matches; among GRPCRoutes the longest service, then the
 * longest method, then the most header matches; ties go to the oldest route, then to namespace and
 * name in alphabetical order, then to rule and match order. Once a route is attached, a request
 * that matches none of its rules gets no route (gRPC fails it with UNAVAILABLE, Envoy with 404), as
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
    List<Entry> entries = new ArrayList<>();
    for (MeshConfig config : attachments.configs()) {
      HasMetadata resource = config.resource();
      if (resource instanceof HTTPRoute route
          && attachesTo(route.getSpec().getParentRefs(), service, port)) {
        addHttpRoute(route, names, policies, entries);
      } else if (resource instanceof GRPCRoute route
          && attachesTo(route.getSpec().getParentRefs(), service, port)) {
        addGrpcRoute(route, names, policies, entries);
      }
    }
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(name).addDomains("*");
    if (entries.isEmpty()) {
      Route.Builder route = Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix(""));
      RouteAction.Builder action = RouteAction.newBuilder().setCluster(name);
      applyPolicies(route, action, policies, null);
      host.addRoutes(route.setRoute(action));
    } else {
      entries.sort(Entry.PRECEDENCE);
      for (Entry entry : entries) {
        host.addRoutes(entry.route());
      }
    }
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(host).build();
  }

  private static boolean attachesTo(
      List<ParentReference> parents, MeshService service, ServicePort port) {
    for (ParentReference parent : nullToEmpty(parents)) {
      if ("Service".equals(parent.getKind())
          && service.key().name().equals(parent.getName())
          && (parent.getPort() == null || parent.getPort() == port.port())) {
        return true;
      }
    }
    return false;
  }

  /**
   * One Route and what orders it. {@code kindRank} puts GRPCRoutes first; {@code specificity} holds
   * the precedence criteria of its kind, most significant first, larger is more specific.
   */
  private record Entry(
      int kindRank,
      int[] specificity,
      String created,
      String namespacedName,
      int rule,
      int match,
      Route route) {

    static final Comparator<Entry> PRECEDENCE =
        Comparator.comparingInt(Entry::kindRank)
            .thenComparing(Entry::specificity, RouteTranslator::moreSpecificFirst)
            .thenComparing(Entry::created)
            .thenComparing(Entry::namespacedName)
            .thenComparingInt(Entry::rule)
            .thenComparingInt(Entry::match);
  }

  private static int moreSpecificFirst(int[] a, int[] b) {
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] != b[i]) {
        return Integer.compare(b[i], a[i]);
      }
    }
    return 0;
  }

  /**
   * The Weft policies for one rule ({@code ruleName} null for the Service's default route): retry
   * defaults and the timeout where the route sets none, the ring-hash key of the Service's load
   * balancing, and fault injection.
   */
  private static void applyPolicies(
      Route.Builder route, RouteAction.Builder action, AttachedPolicies policies, String ruleName) {
    policies
        .trafficFor(ruleName)
        .flatMap(TrafficPolicyValues::retry)
        .ifPresent(retry -> PolicyTranslator.applyRetryDefaults(action, retry));
    PolicyTranslator.hashPolicy(policies.traffic()).ifPresent(action::addHashPolicy);
    policies
        .faultFor(ruleName)
        .ifPresent(
            fault ->
                route.putTypedPerFilterConfig(
                    PolicyTranslator.FAULT_FILTER, PolicyTranslator.fault(fault)));
  }

  private static void addHttpRoute(
      HTTPRoute route, ResourceNames names, AttachedPolicies policies, List<Entry> entries) {
    List<HTTPRouteRule> rules = nullToEmpty(route.getSpec().getRules());
    for (int r = 0; r < rules.size(); r++) {
      HTTPRouteRule rule = rules.get(r);
      RouteAction.Builder action = RouteAction.newBuilder();
      List<Backend> backends = new ArrayList<>();
      for (HTTPBackendRef ref : nullToEmpty(rule.getBackendRefs())) {
        backends.add(
            new Backend(ref.getNamespace(), ref.getName(), ref.getPort(), ref.getWeight()));
      }
      boolean forwards = setClusters(action, route, backends, names);
      applyTimeouts(action, rule.getTimeouts());
      applyRetry(action, rule.getRetry());
      Route.Builder template = Route.newBuilder();
      for (HTTPRouteFilter filter : nullToEmpty(rule.getFilters())) {
        applyHeaderFilter(template, filter.getRequestHeaderModifier());
        applyMirror(action, route, filter.getRequestMirror(), names);
      }
      applyPolicies(template, action, policies, rule.getName());
      setAction(template, action, forwards);
      List<HTTPRouteMatch> matches = nullToEmpty(rule.getMatches());
      if (matches.isEmpty()) {
        matches = List.of(new HTTPRouteMatch());
      }
      for (int m = 0; m < matches.size(); m++) {
        HTTPRouteMatch match = matches.get(m);
        Route built =
            template
                .clone()
                .setName(routeName("HTTPRoute", route, r, m))
                .setMatch(httpMatch(match))
                .build();
        entries.add(
            new Entry(
                1, httpSpecificity(match), created(route), namespacedName(route), r, m, built));
      }
    }
  }

  private static void addGrpcRoute(
      GRPCRoute route, ResourceNames names, AttachedPolicies policies, List<Entry> entries) {
    List<GRPCRouteRule> rules = nullToEmpty(route.getSpec().getRules());
    for (int r = 0; r < rules.size(); r++) {
      GRPCRouteRule rule = rules.get(r);
      RouteAction.Builder action = RouteAction.newBuilder();
      List<Backend> backends = new ArrayList<>();
      for (GRPCBackendRef ref : nullToEmpty(rule.getBackendRefs())) {
        backends.add(
            new Backend(ref.getNamespace(), ref.getName(), ref.getPort(), ref.getWeight()));
      }
      boolean forwards = setClusters(action, route, backends, names);
      Route.Builder template = Route.newBuilder();
      for (GRPCRouteFilter filter : nullToEmpty(rule.getFilters())) {
        applyHeaderFilter(template, filter.getRequestHeaderModifier());
        applyMirror(action, route, filter.getRequestMirror(), names);
      }
      applyPolicies(template, action, policies, rule.getName());
      setAction(template, action, forwards);
      List<GRPCRouteMatch> matches = nullToEmpty(rule.getMatches());
      if (matches.isEmpty()) {
        matches = List.of(new GRPCRouteMatch());
      }
      for (int m = 0; m < matches.size(); m++) {
        GRPCRouteMatch match = matches.get(m);
        Route built =
            template
                .clone()
                .setName(routeName("GRPCRoute", route, r, m))
                .setMatch(grpcMatch(match))
                .build();
        entries.add(
            new Entry(
                0, grpcSpecificity(match), created(route), namespacedName(route), r, m, built));
      }
    }
  }

  /**
   * A rule that can forward nowhere (no backends, all weights zero, or every backend in another
   * namespace) must still fail its matching requests rather than let them fall through to a less
   * specific rule: a non-forwarding action does that for gRPC (UNAVAILABLE) and is never forwarded
   * by Envoy.
   */
  private static void setAction(Route.Builder route, RouteAction.Builder action, boolean forwards) {
    if (forwards) {
      route.setRoute(action);
    } else {
      route.setNonForwardingAction(NonForwardingAction.getDefaultInstance());
    }
  }

  private record Backend(String namespace, String name, Integer port, Integer weight) {}

  /**
   * Sets the cluster, or weighted clusters, a rule sends to; returns false when it has none. A
   * backend in another namespace would need a ReferenceGrant, which Weft does not read yet, so it
   * is left out (and its share with it), as the Gateway API requires for a reference not permitted.
   */
  private static boolean setClusters(
      RouteAction.Builder action, HasMetadata route, List<Backend> backends, ResourceNames names) {
    String namespace = route.getMetadata().getNamespace();
    WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
    for (Backend backend : backends) {
      int weight = backend.weight() == null ? 1 : backend.weight();
      boolean permitted = backend.namespace() == null || backend.namespace().equals(namespace);
      if (weight > 0 && permitted && backend.port() != null) {
        weighted.addClusters(
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(names.canonical(new ServiceKey(namespace, backend.name()), backend.port()))
                .setWeight(UInt32Value.of(weight)));
      }
    }
    if (weighted.getClustersCount() == 0) {
      return false;
    }
    if (weighted.getClustersCount() == 1) {
      action.setCluster(weighted.getClusters(0).getName());
    } else {
      action.setWeightedClusters(weighted);
    }
    return true;
  }

  /**
   * {@code timeouts.request} bounds the whole request: Envoy reads {@code timeout}, gRPC reads
   * {@code max_stream_duration}; zero disables both. {@code backendRequest} bounds each attempt.
   */
  private static void applyTimeouts(RouteAction.Builder action, HTTPRouteTimeouts timeouts) {
    if (timeouts == null) {
      return;
    }
    if (timeouts.getRequest() != null) {
      com.google.protobuf.Duration request = duration(timeouts.getRequest());
      action.setTimeout(request);
      action.setMaxStreamDuration(
          RouteAction.MaxStreamDuration.newBuilder().setMaxStreamDuration(request));
    }
    if (timeouts.getBackendRequest() != null) {
      action.getRetryPolicyBuilder().setPerTryTimeout(duration(timeouts.getBackendRequest()));
    }
  }

  /**
   * The Gateway API {@code retry} field: {@code attempts} retries after the first try, on the
   * listed HTTP statuses (Envoy) and on their gRPC equivalents (proxyless gRPC, which retries on
   * gRPC statuses only; it also caps attempts at five). No codes means Envoy's and gRPC's usual
   * retriable failures: 5xx and UNAVAILABLE.
   */
  private static void applyRetry(RouteAction.Builder action, HTTPRouteRetry retry) {
    if (retry == null || retry.getAttempts() == null || retry.getAttempts() == 0) {
      return;
    }
    RetryPolicy.Builder policy = action.getRetryPolicyBuilder();
    policy.setNumRetries(UInt32Value.of(retry.getAttempts()));
    Set<String> retryOn = new LinkedHashSet<>();
    List<Integer> codes = nullToEmpty(retry.getCodes());
    if (codes.isEmpty()) {
      retryOn.add("5xx");
      retryOn.add("unavailable");
    } else {
      retryOn.add("retriable-status-codes");
      for (Integer code : codes) {
        policy.addRetriableStatusCodes(code);
        String grpc = GRPC_RETRY_ON.get(code);
        if (grpc != null) {
          retryOn.add(grpc);
        }
      }
    }
    policy.setRetryOn(String.join(",", retryOn));
    if (retry.getBackoff() != null) {
      Duration base = parsed(retry.getBackoff());
      if (!base.isZero()) {
        policy.setRetryBackOff(PolicyTranslator.backOff(base));
      }
    }
  }

  private static void applyHeaderFilter(Route.Builder route, HTTPHeaderFilter filter) {
    if (filter == null) {
      return;
    }
    for (HTTPHeader header : nullToEmpty(filter.getSet())) {
      route.addRequestHeadersToAdd(
          headerOption(header, HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
    for (HTTPHeader header : nullToEmpty(filter.getAdd())) {
      route.addRequestHeadersToAdd(
          headerOption(header, HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD));
    }
    route.addAllRequestHeadersToRemove(nullToEmpty(filter.getRemove()));
  }

  private static HeaderValueOption headerOption(
      HTTPHeader header, HeaderValueOption.HeaderAppendAction append) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(header.getName()).setValue(header.getValue()))
        .setAppendAction(append)
        .build();
  }

  /** Mirrors a share of requests (all by default) to a Service in the route's namespace. */
  private static void applyMirror(
      RouteAction.Builder action,
      HasMetadata route,
      HTTPRequestMirrorFilter mirror,
      ResourceNames names) {
    if (mirror == null || mirror.getBackendRef() == null) {
      return;
    }
    BackendObjectReference ref = mirror.getBackendRef();
    String namespace = route.getMetadata().getNamespace();
    if (ref.getPort() == null
        || (ref.getNamespace() != null && !ref.getNamespace().equals(namespace))) {
      return;
    }
    RouteAction.RequestMirrorPolicy.Builder policy =
        RouteAction.RequestMirrorPolicy.newBuilder()
            .setCluster(names.canonical(new ServiceKey(namespace, ref.getName()), ref.getPort()));
    FractionalPercent share = null;
    if (mirror.getPercent() != null) {
      share =
          FractionalPercent.newBuilder()
              .setNumerator(mirror.getPercent())
              .setDenominator(FractionalPercent.DenominatorType.HUNDRED)
              .build();
    } else if (mirror.getFraction() != null && mirror.getFraction().getNumerator() != null) {
      int denominator =
          mirror.getFraction().getDenominator() == null
              ? 100
              : mirror.getFraction().getDenominator();
      share =
          FractionalPercent.newBuilder()
              .setNumerator(
                  (int)
                      (1_000_000L * mirror.getFraction().getNumerator() / Math.max(1, denominator)))
              .setDenominator(FractionalPercent.DenominatorType.MILLION)
              .build();
    }
    if (share != null) {
      policy.setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(share));
    }
    action.addRequestMirrorPolicies(policy);
  }

  private static RouteMatch httpMatch(HTTPRouteMatch match) {
    RouteMatch.Builder built = RouteMatch.newBuilder();
    HTTPPathMatch path = match.getPath();
    String type = path == null || path.getType() == null ? "PathPrefix" : path.getType();
    String value = path == null || path.getValue() == null ? "/" : path.getValue();
    switch (type) {
      case "Exact" -> built.setPath(value);
      case "RegularExpression" -> built.setSafeRegex(regex(value));
      default -> {
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
    for (HTTPHeaderMatch header : nullToEmpty(match.getHeaders())) {
      built.addHeaders(headerMatcher(header.getName(), header.getType(), header.getValue()));
    }
    if (match.getMethod() != null) {
      built.addHeaders(headerMatcher(":method", "Exact", match.getMethod()));
    }
    for (HTTPQueryParamMatch param : nullToEmpty(match.getQueryParams())) {
      built.addQueryParameters(
          QueryParameterMatcher.newBuilder()
              .setName(param.getName())
              .setStringMatch(stringMatcher(param.getType(), param.getValue())));
    }
    return built.build();
  }

  private static int[] httpSpecificity(HTTPRouteMatch match) {
    HTTPPathMatch path = match.getPath();
    String type = path == null || path.getType() == null ? "PathPrefix" : path.getType();
    String value = path == null || path.getValue() == null ? "/" : path.getValue();
    int pathRank =
        switch (type) {
          case "Exact" -> 2;
          case "PathPrefix" -> 1;
          default -> 0;
        };
    return new int[] {
      pathRank,
      "PathPrefix".equals(type) ? value.length() : 0,
      match.getMethod() == null ? 0 : 1,
      nullToEmpty(match.getHeaders()).size(),
      nullToEmpty(match.getQueryParams()).size()
    };
  }

  /** gRPC paths are {@code /package.Service/Method}. */
  private static RouteMatch grpcMatch(GRPCRouteMatch match) {
    RouteMatch.Builder built = RouteMatch.newBuilder();
    GRPCMethodMatch method = match.getMethod();
    if (method == null) {
      built.setPrefix("/");
    } else if ("RegularExpression".equals(method.getType())) {
      String service = method.getService() == null ? "[^/]+" : method.getService();
      String name = method.getMethod() == null ? "[^/]+" : method.getMethod();
      built.setSafeRegex(regex("^/(" + service + ")/(" + name + ")$"));
    } else if (method.getService() != null && method.getMethod() != null) {
      built.setPath("/" + method.getService() + "/" + method.getMethod());
    } else if (method.getService() != null) {
      built.setPrefix("/" + method.getService() + "/");
    } else {
      built.setSafeRegex(regex("^/[^/]+/" + quote(method.getMethod()) + "$"));
    }
    for (GRPCHeaderMatch header : nullToEmpty(match.getHeaders())) {
      built.addHeaders(headerMatcher(header.getName(), header.getType(), header.getValue()));
    }
    return built.build();
  }

  private static int[] grpcSpecificity(GRPCRouteMatch match) {
    GRPCMethodMatch method = match.getMethod();
    int service = method == null || method.getService() == null ? 0 : method.getService().length();
    int name = method == null || method.getMethod() == null ? 0 : method.getMethod().length();
    return new int[] {service, name, nullToEmpty(match.getHeaders()).size()};
  }

  private static HeaderMatcher headerMatcher(String name, String type, String value) {
    return HeaderMatcher.newBuilder()
        .setName(name.toLowerCase(Locale.ROOT))
        .setStringMatch(stringMatcher(type, value))
        .build();
  }

  private static StringMatcher stringMatcher(String type, String value) {
    return "RegularExpression".equals(type)
        ? StringMatcher.newBuilder().setSafeRegex(regex(value)).build()
        : StringMatcher.newBuilder().setExact(value).build();
  }

  private static RegexMatcher regex(String pattern) {
    return RegexMatcher.newBuilder().setRegex(pattern).build();
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

  private static com.google.protobuf.Duration duration(String text) {
    return PolicyTranslator.duration(parsed(text));
  }

  /** Validated already, so a duration always parses here. */
  private static Duration parsed(String text) {
    Validated<Duration> parsed = GatewayDuration.parse("duration", text);
    if (!(parsed instanceof Validated.Valid<Duration> valid)) {
      throw new IllegalStateException("an unvalidated duration reached translation: " + text);
    }
    return valid.value();
  }

  private static String routeName(String kind, HasMetadata route, int rule, int match) {
    return kind + "/" + namespacedName(route) + "/rule-" + rule + "/match-" + match;
  }

  private static String namespacedName(HasMetadata route) {
    return route.getMetadata().getNamespace() + "/" + route.getMetadata().getName();
  }

  /** RFC 3339 timestamps in UTC sort in time order as text; a missing one sorts last. */
  private static String created(HasMetadata route) {
    String created = route.getMetadata().getCreationTimestamp();
    return created == null ? "~" : created;
  }

  private static <T> List<T> nullToEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
