package dev.weft.api.gateway;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
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
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Structural validation of Gateway API {@code HTTPRoute} and {@code GRPCRoute} objects as Weft uses
 * them: attached to Services (GAMMA). Pure functions; each returns every error it finds, with the
 * field path and the reason, following the limits the Gateway API CRDs declare.
 */
public final class GatewayRouteValidator {

  private static final int MAX_RULES = 16;
  private static final int MAX_MATCHES = 64;
  private static final int MAX_BACKEND_REFS = 16;
  private static final int MAX_WEIGHT = 1_000_000;
  private static final Set<String> HTTP_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
  // RFC 7230 token: the characters an HTTP header name may contain.
  private static final Pattern HEADER_NAME = Pattern.compile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$");
  private static final Pattern GRPC_SERVICE =
      Pattern.compile("^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$");

  /** The Gateway API's limit on header and query parameter names. */
  private static final int MAX_NAME_LENGTH = 256;

  // A header value may not carry a line break or NUL: it would end or split the header.
  private static final Pattern HEADER_VALUE = Pattern.compile("^[^\\r\\n\\x00]*$");
  private static final Pattern GRPC_METHOD = Pattern.compile("^[A-Za-z_][A-Za-z_0-9]*$");

  private GatewayRouteValidator() {}

  /**
   * Whether the route attaches to at least one Service, which makes it a mesh route. Routes that
   * attach only to Gateways belong to an ingress controller and are not Weft's to judge.
   */
  public static boolean isMeshRoute(List<ParentReference> parentRefs) {
    return parentRefs != null && parentRefs.stream().anyMatch(GatewayRouteValidator::isService);
  }

  /**
   * Whether an HTTPRoute may be Weft's: it attaches to a Service, or to a Gateway (which is Weft's
   * when its class is; that is settled where Gateways and their classes are known).
   */
  public static boolean isWeftHttpRoute(List<ParentReference> parentRefs) {
    return parentRefs != null && parentRefs.stream().anyMatch(p -> isService(p) || isGateway(p));
  }

  /** Whether a parentRef names a Gateway: its group and kind default to the Gateway API's. */
  public static boolean isGateway(ParentReference parent) {
    return parent != null
        && (parent.getGroup() == null || "gateway.networking.k8s.io".equals(parent.getGroup()))
        && (parent.getKind() == null || "Gateway".equals(parent.getKind()));
  }

  public static Validated<HTTPRoute> validate(HTTPRoute route) {
    FieldErrors errors = new FieldErrors();
    if (route.getSpec() == null) {
      return Validated.invalid("spec", "required");
    }
    validateParents(route.getSpec().getParentRefs(), true, errors);
    validateHostnames(route.getSpec().getHostnames(), errors);
    List<HTTPRouteRule> rules = nullToEmpty(route.getSpec().getRules());
    checkMax("spec.rules", rules.size(), MAX_RULES, errors);
    for (int i = 0; i < rules.size(); i++) {
      String path = FieldErrors.indexed("spec.rules", i);
      HTTPRouteRule rule = rules.get(i);
      if (!errors.checkPresent(path, rule)) {
        continue;
      }
      List<HTTPRouteMatch> matches = nullToEmpty(rule.getMatches());
      checkMax(path + ".matches", matches.size(), MAX_MATCHES, errors);
      for (int m = 0; m < matches.size(); m++) {
        String at = FieldErrors.indexed(path + ".matches", m);
        if (errors.checkPresent(at, matches.get(m))) {
          validateHttpMatch(at, matches.get(m), errors);
        }
      }
      List<HTTPBackendRef> backends = nullToEmpty(rule.getBackendRefs());
      checkMax(path + ".backendRefs", backends.size(), MAX_BACKEND_REFS, errors);
      checkSomeWeight(
          path + ".backendRefs",
          backends.stream().filter(Objects::nonNull).map(HTTPBackendRef::getWeight).toList(),
          errors);
      for (int b = 0; b < backends.size(); b++) {
        String at = FieldErrors.indexed(path + ".backendRefs", b);
        HTTPBackendRef ref = backends.get(b);
        if (!errors.checkPresent(at, ref)) {
          continue;
        }
        validateBackend(
            at,
            new BackendRef(ref.getGroup(), ref.getKind(), ref.getName(), ref.getPort()),
            ref.getWeight(),
            errors);
      }
      List<HTTPRouteFilter> filters = nullToEmpty(rule.getFilters());
      validateFilters(
          path + ".filters",
          filters.stream()
              .map(
                  f ->
                      f == null
                          ? null
                          : new Filter(f.getRequestHeaderModifier(), f.getRequestMirror()))
              .toList(),
          errors);
      validateTimeouts(path + ".timeouts", rule.getTimeouts(), errors);
      validateRetry(path + ".retry", rule.getRetry(), errors);
    }
    return errors.toResult(() -> route);
  }

  public static Validated<GRPCRoute> validate(GRPCRoute route) {
    FieldErrors errors = new FieldErrors();
    if (route.getSpec() == null) {
      return Validated.invalid("spec", "required");
    }
    validateParents(route.getSpec().getParentRefs(), false, errors);
    List<GRPCRouteRule> rules = nullToEmpty(route.getSpec().getRules());
    checkMax("spec.rules", rules.size(), MAX_RULES, errors);
    for (int i = 0; i < rules.size(); i++) {
      String path = FieldErrors.indexed("spec.rules", i);
      GRPCRouteRule rule = rules.get(i);
      if (!errors.checkPresent(path, rule)) {
        continue;
      }
      List<GRPCRouteMatch> matches = nullToEmpty(rule.getMatches());
      checkMax(path + ".matches", matches.size(), MAX_MATCHES, errors);
      for (int m = 0; m < matches.size(); m++) {
        String at = FieldErrors.indexed(path + ".matches", m);
        if (errors.checkPresent(at, matches.get(m))) {
          validateGrpcMatch(at, matches.get(m), errors);
        }
      }
      List<GRPCBackendRef> backends = nullToEmpty(rule.getBackendRefs());
      checkMax(path + ".backendRefs", backends.size(), MAX_BACKEND_REFS, errors);
      checkSomeWeight(
          path + ".backendRefs",
          backends.stream().filter(Objects::nonNull).map(GRPCBackendRef::getWeight).toList(),
          errors);
      for (int b = 0; b < backends.size(); b++) {
        String at = FieldErrors.indexed(path + ".backendRefs", b);
        GRPCBackendRef ref = backends.get(b);
        if (!errors.checkPresent(at, ref)) {
          continue;
        }
        validateBackend(
            at,
            new BackendRef(ref.getGroup(), ref.getKind(), ref.getName(), ref.getPort()),
            ref.getWeight(),
            errors);
      }
      List<GRPCRouteFilter> filters = nullToEmpty(rule.getFilters());
      validateFilters(
          path + ".filters",
          filters.stream()
              .map(
                  f ->
                      f == null
                          ? null
                          : new Filter(f.getRequestHeaderModifier(), f.getRequestMirror()))
              .toList(),
          errors);
    }
    return errors.toResult(() -> route);
  }

  /** What Weft reads of a filter of either kind of route. */
  private record Filter(HTTPHeaderFilter headerModifier, HTTPRequestMirrorFilter mirror) {}

  /**
   * A request header modifier at most once per rule (the Gateway API's CRD says so), header names
   * that are HTTP tokens, and mirrors to a named Service port.
   */
  private static void validateFilters(String path, List<Filter> filters, FieldErrors errors) {
    boolean modifierSeen = false;
    for (int f = 0; f < filters.size(); f++) {
      String at = FieldErrors.indexed(path, f);
      Filter filter = filters.get(f);
      if (!errors.checkPresent(at, filter)) {
        continue;
      }
      HTTPHeaderFilter modifier = filter.headerModifier();
      if (modifier != null) {
        if (modifierSeen) {
          errors.add(at + ".requestHeaderModifier", "may appear only once in a rule");
        }
        modifierSeen = true;
        checkHeaderNames(at + ".requestHeaderModifier.set", modifier.getSet(), errors);
        checkHeaderNames(at + ".requestHeaderModifier.add", modifier.getAdd(), errors);
        List<String> remove = nullToEmpty(modifier.getRemove());
        for (int r = 0; r < remove.size(); r++) {
          checkHeaderName(
              FieldErrors.indexed(at + ".requestHeaderModifier.remove", r), remove.get(r), errors);
        }
      }
      HTTPRequestMirrorFilter mirror = filter.mirror();
      if (mirror != null) {
        BackendObjectReference ref = mirror.getBackendRef();
        if (errors.checkPresent(at + ".requestMirror.backendRef", ref)) {
          requireName(at + ".requestMirror.backendRef.name", ref.getName(), errors);
          checkPort(at + ".requestMirror.backendRef.port", ref.getPort(), true, errors);
        }
      }
    }
  }

  private static void checkHeaderNames(String path, List<HTTPHeader> headers, FieldErrors errors) {
    List<HTTPHeader> list = nullToEmpty(headers);
    for (int h = 0; h < list.size(); h++) {
      String at = FieldErrors.indexed(path, h);
      HTTPHeader header = list.get(h);
      if (errors.checkPresent(at, header)) {
        checkHeaderName(at + ".name", header.getName(), errors);
        if (header.getValue() == null) {
          errors.add(at + ".value", "required");
        } else if (!HEADER_VALUE.matcher(header.getValue()).matches()) {
          // A proxy refuses the whole configuration for one such value (Envoy's rule too).
          errors.add(at + ".value", "contains a control character (CR, LF or NUL)");
        }
      }
    }
  }

  private static void checkHeaderName(String path, String name, FieldErrors errors) {
    if (name == null || name.isEmpty()) {
      errors.add(path, "required");
    } else if (!HEADER_NAME.matcher(name).matches()) {
      errors.add(path, "\"" + name + "\" is not an HTTP header name");
    }
  }

  private static void validateParents(
      List<ParentReference> parents, boolean gatewaysAllowed, FieldErrors errors) {
    if (gatewaysAllowed ? !isWeftHttpRoute(parents) : !isMeshRoute(parents)) {
      errors.add(
          "spec.parentRefs",
          gatewaysAllowed
              ? "must name at least one Service (kind: Service, group: \"\") or Gateway"
              : "must name at least one Service (kind: Service, group: \"\")");
      return;
    }
    for (int i = 0; i < parents.size(); i++) {
      ParentReference parent = parents.get(i);
      String path = FieldErrors.indexed("spec.parentRefs", i);
      if (!errors.checkPresent(path, parent)) {
        continue;
      }
      requireName(path + ".name", parent.getName(), errors);
      checkPort(path + ".port", parent.getPort(), false, errors);
    }
  }

  private static final int MAX_HOSTNAMES = 16;

  private static void validateHostnames(List<String> hostnames, FieldErrors errors) {
    List<String> all = nullToEmpty(hostnames);
    checkMax("spec.hostnames", all.size(), MAX_HOSTNAMES, errors);
    for (int i = 0; i < all.size(); i++) {
      String hostname = all.get(i);
      String path = FieldErrors.indexed("spec.hostnames", i);
      if (!errors.checkPresent(path, hostname)) {
        continue;
      }
      String problem = GatewayValidator.hostnameProblem(hostname);
      if (problem != null) {
        errors.add(path, problem);
      }
    }
  }

  private static void validateHttpMatch(String path, HTTPRouteMatch match, FieldErrors errors) {
    HTTPPathMatch pathMatch = match.getPath();
    if (pathMatch != null) {
      String type = orDefault(pathMatch.getType(), "PathPrefix");
      String value = orDefault(pathMatch.getValue(), "/");
      switch (type) {
        case "Exact", "PathPrefix" -> {
          if (!value.startsWith("/")) {
            errors.add(path + ".path.value", "\"" + value + "\" must start with \"/\"");
          }
        }
        case "RegularExpression" -> checkRegex(path + ".path.value", value, errors);
        default ->
            errors.add(
                path + ".path.type",
                "\"" + type + "\" is not one of Exact, PathPrefix, RegularExpression");
      }
    }
    List<HTTPHeaderMatch> headers = nullToEmpty(match.getHeaders());
    for (int h = 0; h < headers.size(); h++) {
      String at = FieldErrors.indexed(path + ".headers", h);
      HTTPHeaderMatch header = headers.get(h);
      if (!errors.checkPresent(at, header)) {
        continue;
      }
      validateNameValueMatch(at, header.getName(), header.getType(), header.getValue(), errors);
    }
    List<HTTPQueryParamMatch> params = nullToEmpty(match.getQueryParams());
    for (int q = 0; q < params.size(); q++) {
      String at = FieldErrors.indexed(path + ".queryParams", q);
      HTTPQueryParamMatch param = params.get(q);
      if (!errors.checkPresent(at, param)) {
        continue;
      }
      validateNameValueMatch(at, param.getName(), param.getType(), param.getValue(), errors);
    }
    if (match.getMethod() != null && !HTTP_METHODS.contains(match.getMethod())) {
      errors.add(path + ".method", "\"" + match.getMethod() + "\" is not an HTTP method");
    }
  }

  private static void validateGrpcMatch(String path, GRPCRouteMatch match, FieldErrors errors) {
    GRPCMethodMatch method = match.getMethod();
    if (method != null) {
      String type = orDefault(method.getType(), "Exact");
      switch (type) {
        case "Exact" -> {
          if (method.getService() == null && method.getMethod() == null) {
            errors.add(path + ".method", "an Exact match needs a service, a method, or both");
          }
          if (method.getService() != null && !GRPC_SERVICE.matcher(method.getService()).matches()) {
            errors.add(
                path + ".method.service",
                "\"" + method.getService() + "\" is not a fully qualified gRPC service name");
          }
          if (method.getMethod() != null && !GRPC_METHOD.matcher(method.getMethod()).matches()) {
            errors.add(
                path + ".method.method",
                "\"" + method.getMethod() + "\" is not a gRPC method name");
          }
        }
        case "RegularExpression" -> {
          checkRegexIfPresent(path + ".method.service", method.getService(), errors);
          checkRegexIfPresent(path + ".method.method", method.getMethod(), errors);
        }
        default ->
            errors.add(
                path + ".method.type", "\"" + type + "\" is not one of Exact, RegularExpression");
      }
    }
    List<GRPCHeaderMatch> headers = nullToEmpty(match.getHeaders());
    for (int h = 0; h < headers.size(); h++) {
      String at = FieldErrors.indexed(path + ".headers", h);
      GRPCHeaderMatch header = headers.get(h);
      if (!errors.checkPresent(at, header)) {
        continue;
      }
      validateNameValueMatch(at, header.getName(), header.getType(), header.getValue(), errors);
    }
  }

  private static void validateNameValueMatch(
      String path, String name, String type, String value, FieldErrors errors) {
    if (name == null || !HEADER_NAME.matcher(name).matches()) {
      errors.add(path + ".name", "\"" + name + "\" is not a valid name");
    } else if (name.length() > MAX_NAME_LENGTH) {
      errors.add(path + ".name", "longer than " + MAX_NAME_LENGTH + " characters");
    }
    if (value == null) {
      errors.add(path + ".value", "required");
      return;
    }
    switch (orDefault(type, "Exact")) {
      case "Exact" -> {}
      case "RegularExpression" -> checkRegex(path + ".value", value, errors);
      default ->
          errors.add(path + ".type", "\"" + type + "\" is not one of Exact, RegularExpression");
    }
  }

  private record BackendRef(String group, String kind, String name, Integer port) {}

  private static void validateBackend(
      String path, BackendRef ref, Integer weight, FieldErrors errors) {
    if (!isCoreGroup(ref.group()) || !"Service".equals(orDefault(ref.kind(), "Service"))) {
      errors.add(
          path + ".kind",
          "backend "
              + orDefault(ref.group(), "")
              + "/"
              + ref.kind()
              + " is not supported; only Services are");
    }
    requireName(path + ".name", ref.name(), errors);
    checkPort(path + ".port", ref.port(), true, errors);
    if (weight != null && (weight < 0 || weight > MAX_WEIGHT)) {
      errors.add(path + ".weight", weight + " is outside 0.." + MAX_WEIGHT);
    }
  }

  /**
   * Every weight zero would send the rule's requests nowhere: the Gateway API allows it (they get
   * errors), but it is nearly always a mistake in a canary edit, so Weft refuses it and keeps the
   * last good split. To stop a rule's traffic on purpose, remove its backends.
   */
  private static void checkSomeWeight(String path, List<Integer> weights, FieldErrors errors) {
    if (!weights.isEmpty() && weights.stream().allMatch(w -> w != null && w == 0)) {
      errors.add(path, "every weight is 0; at least one backend must have a positive weight");
    }
  }

  private static void validateTimeouts(
      String path, HTTPRouteTimeouts timeouts, FieldErrors errors) {
    if (timeouts == null) {
      return;
    }
    Duration request = durationOrNull(path + ".request", timeouts.getRequest(), errors);
    Duration backend =
        durationOrNull(path + ".backendRequest", timeouts.getBackendRequest(), errors);
    if (request != null
        && backend != null
        && !request.isZero()
        && (backend.isZero() || backend.compareTo(request) > 0)) {
      errors.add(
          path + ".backendRequest",
          "must not be longer than the request timeout (" + timeouts.getRequest() + ")");
    }
  }

  private static void validateRetry(String path, HTTPRouteRetry retry, FieldErrors errors) {
    if (retry == null) {
      return;
    }
    if (retry.getAttempts() != null && retry.getAttempts() < 0) {
      errors.add(path + ".attempts", "must not be negative");
    }
    durationOrNull(path + ".backoff", retry.getBackoff(), errors);
    List<Integer> codes = nullToEmpty(retry.getCodes());
    for (int c = 0; c < codes.size(); c++) {
      String at = FieldErrors.indexed(path + ".codes", c);
      Integer code = codes.get(c);
      if (errors.checkPresent(at, code) && (code < 400 || code > 599)) {
        errors.add(at, code + " is not a status in 400..599");
      }
    }
  }

  private static Duration durationOrNull(String path, String text, FieldErrors errors) {
    if (text == null) {
      return null;
    }
    Validated<Duration> parsed = GatewayDuration.parse(path, text);
    errors.addAll(parsed.errors());
    return parsed instanceof Validated.Valid<Duration> valid ? valid.value() : null;
  }

  private static boolean isService(ParentReference parent) {
    return parent != null && isCoreGroup(parent.getGroup()) && "Service".equals(parent.getKind());
  }

  private static boolean isCoreGroup(String group) {
    return group == null || group.isEmpty() || "core".equals(group);
  }

  private static void requireName(String path, String name, FieldErrors errors) {
    if (name == null || name.isEmpty()) {
      errors.add(path, "required");
    }
  }

  private static void checkPort(String path, Integer port, boolean required, FieldErrors errors) {
    if (port == null) {
      if (required) {
        errors.add(path, "required for a Service");
      }
    } else if (port < 1 || port > 65535) {
      errors.add(path, port + " is not a port number (1..65535)");
    }
  }

  private static void checkMax(String path, int size, int max, FieldErrors errors) {
    if (size > max) {
      errors.add(path, size + " entries; at most " + max + " are allowed");
    }
  }

  private static void checkRegexIfPresent(String path, String regex, FieldErrors errors) {
    if (regex != null) {
      checkRegex(path, regex, errors);
    }
  }

  private static void checkRegex(String path, String regex, FieldErrors errors) {
    try {
      Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      errors.add(path, "not a valid regular expression: " + e.getDescription());
    }
  }

  private static String orDefault(String value, String fallback) {
    return value == null ? fallback : value;
  }

  private static <T> List<T> nullToEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
