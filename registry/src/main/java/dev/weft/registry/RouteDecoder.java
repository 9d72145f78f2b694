package dev.weft.registry;

import dev.weft.api.gateway.GatewayDuration;
import dev.weft.api.gateway.GatewayRouteValidator;
import dev.weft.api.validation.Validated;
import dev.weft.registry.model.MeshRoute;
import dev.weft.registry.model.RouteMatch;
import dev.weft.registry.model.RouteRule;
import dev.weft.registry.model.WeightedBackend;
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
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Decodes a validated {@code HTTPRoute} or {@code GRPCRoute} into a {@link MeshRoute}, applying the
 * Gateway API's defaults, once, where the registry admits it. Stateless.
 */
final class RouteDecoder {

  private RouteDecoder() {}

  static MeshRoute decode(HTTPRoute route) {
    List<RouteRule> rules = new ArrayList<>();
    for (HTTPRouteRule rule : orEmpty(route.getSpec().getRules())) {
      List<RouteMatch> matches = new ArrayList<>();
      for (HTTPRouteMatch match : orEmpty(rule.getMatches())) {
        matches.add(httpMatch(match));
      }
      if (matches.isEmpty()) {
        matches.add(
            new RouteMatch.Http(
                RouteMatch.PathMatch.EVERY_PATH, Optional.empty(), List.of(), List.of()));
      }
      List<WeightedBackend> backends = new ArrayList<>();
      for (HTTPBackendRef ref : orEmpty(rule.getBackendRefs())) {
        backend(route, ref.getNamespace(), ref.getName(), ref.getPort(), ref.getWeight())
            .ifPresent(backends::add);
      }
      List<RouteRule.HeaderModifier> modifiers = new ArrayList<>();
      List<RouteRule.Mirror> mirrors = new ArrayList<>();
      for (HTTPRouteFilter filter : orEmpty(rule.getFilters())) {
        headerModifier(filter.getRequestHeaderModifier()).ifPresent(modifiers::add);
        mirror(route, filter.getRequestMirror()).ifPresent(mirrors::add);
      }
      HTTPRouteTimeouts timeouts = rule.getTimeouts();
      rules.add(
          new RouteRule(
              Optional.ofNullable(rule.getName()),
              matches,
              backends,
              Optional.ofNullable(timeouts == null ? null : timeouts.getRequest())
                  .map(RouteDecoder::duration),
              Optional.ofNullable(timeouts == null ? null : timeouts.getBackendRequest())
                  .map(RouteDecoder::duration),
              retry(rule.getRetry()),
              merged(modifiers),
              mirrors));
    }
    return new MeshRoute(
        MeshRoute.Protocol.HTTP,
        route.getMetadata().getNamespace(),
        route.getMetadata().getName(),
        created(route),
        parents(route.getSpec().getParentRefs(), route.getMetadata().getNamespace()),
        gateways(route.getSpec().getParentRefs(), route.getMetadata().getNamespace()),
        orEmpty(route.getSpec().getHostnames()),
        rules);
  }

  static MeshRoute decode(GRPCRoute route) {
    List<RouteRule> rules = new ArrayList<>();
    for (GRPCRouteRule rule : orEmpty(route.getSpec().getRules())) {
      List<RouteMatch> matches = new ArrayList<>();
      for (GRPCRouteMatch match : orEmpty(rule.getMatches())) {
        matches.add(grpcMatch(match));
      }
      if (matches.isEmpty()) {
        matches.add(new RouteMatch.Grpc(false, Optional.empty(), Optional.empty(), List.of()));
      }
      List<WeightedBackend> backends = new ArrayList<>();
      for (GRPCBackendRef ref : orEmpty(rule.getBackendRefs())) {
        backend(route, ref.getNamespace(), ref.getName(), ref.getPort(), ref.getWeight())
            .ifPresent(backends::add);
      }
      List<RouteRule.HeaderModifier> modifiers = new ArrayList<>();
      List<RouteRule.Mirror> mirrors = new ArrayList<>();
      for (GRPCRouteFilter filter : orEmpty(rule.getFilters())) {
        headerModifier(filter.getRequestHeaderModifier()).ifPresent(modifiers::add);
        mirror(route, filter.getRequestMirror()).ifPresent(mirrors::add);
      }
      rules.add(
          new RouteRule(
              Optional.ofNullable(rule.getName()),
              matches,
              backends,
              Optional.empty(),
              Optional.empty(),
              Optional.empty(),
              merged(modifiers),
              mirrors));
    }
    return new MeshRoute(
        MeshRoute.Protocol.GRPC,
        route.getMetadata().getNamespace(),
        route.getMetadata().getName(),
        created(route),
        parents(route.getSpec().getParentRefs(), route.getMetadata().getNamespace()),
        List.of(),
        List.of(),
        rules);
  }

  /**
   * The Services the {@code parentRefs} name in the route's own namespace. A parentRef to a Service
   * in another namespace makes a GAMMA "consumer route", which applies only to that namespace's
   * clients; Weft does not support those yet and attaches nothing for them.
   */
  static List<MeshRoute.ServiceParent> parents(List<ParentReference> refs, String namespace) {
    List<MeshRoute.ServiceParent> parents = new ArrayList<>();
    for (ParentReference parent : orEmpty(refs)) {
      boolean coreGroup = parent.getGroup() == null || parent.getGroup().isEmpty();
      boolean sameNamespace =
          parent.getNamespace() == null || parent.getNamespace().equals(namespace);
      if (coreGroup && "Service".equals(parent.getKind()) && sameNamespace) {
        parents.add(
            new MeshRoute.ServiceParent(
                parent.getName(),
                parent.getPort() == null ? OptionalInt.empty() : OptionalInt.of(parent.getPort())));
      }
    }
    return parents;
  }

  /**
   * The Gateways the {@code parentRefs} name, in any namespace (the Gateway says whom it takes).
   */
  static List<MeshRoute.GatewayParent> gateways(List<ParentReference> refs, String namespace) {
    List<MeshRoute.GatewayParent> gateways = new ArrayList<>();
    for (ParentReference parent : orEmpty(refs)) {
      if (GatewayRouteValidator.isGateway(parent)) {
        gateways.add(
            new MeshRoute.GatewayParent(
                parent.getNamespace() == null ? namespace : parent.getNamespace(),
                parent.getName(),
                Optional.ofNullable(parent.getSectionName()),
                parent.getPort() == null ? OptionalInt.empty() : OptionalInt.of(parent.getPort())));
      }
    }
    return gateways;
  }

  private static RouteMatch httpMatch(HTTPRouteMatch match) {
    HTTPPathMatch path = match.getPath();
    String type = path == null || path.getType() == null ? "PathPrefix" : path.getType();
    String value = path == null || path.getValue() == null ? "/" : path.getValue();
    RouteMatch.PathMatch.Type pathType =
        switch (type) {
          case "Exact" -> RouteMatch.PathMatch.Type.EXACT;
          case "RegularExpression" -> RouteMatch.PathMatch.Type.REGULAR_EXPRESSION;
          default -> RouteMatch.PathMatch.Type.PREFIX;
        };
    List<RouteMatch.StringMatch> headers = new ArrayList<>();
    for (HTTPHeaderMatch header : orEmpty(match.getHeaders())) {
      headers.add(headerMatch(header.getName(), header.getType(), header.getValue()));
    }
    List<RouteMatch.StringMatch> query = new ArrayList<>();
    for (HTTPQueryParamMatch param : orEmpty(match.getQueryParams())) {
      query.add(
          new RouteMatch.StringMatch(param.getName(), isRegex(param.getType()), param.getValue()));
    }
    return new RouteMatch.Http(
        new RouteMatch.PathMatch(pathType, value),
        Optional.ofNullable(match.getMethod()),
        headers,
        query);
  }

  private static RouteMatch grpcMatch(GRPCRouteMatch match) {
    List<RouteMatch.StringMatch> headers = new ArrayList<>();
    for (GRPCHeaderMatch header : orEmpty(match.getHeaders())) {
      headers.add(headerMatch(header.getName(), header.getType(), header.getValue()));
    }
    GRPCMethodMatch method = match.getMethod();
    return method == null
        ? new RouteMatch.Grpc(false, Optional.empty(), Optional.empty(), headers)
        : new RouteMatch.Grpc(
            isRegex(method.getType()),
            Optional.ofNullable(method.getService()),
            Optional.ofNullable(method.getMethod()),
            headers);
  }

  /** Header names ignore case: the model holds them in lower case, as HTTP/2 sends them. */
  private static RouteMatch.StringMatch headerMatch(String name, String type, String value) {
    return new RouteMatch.StringMatch(name.toLowerCase(Locale.ROOT), isRegex(type), value);
  }

  private static boolean isRegex(String type) {
    return "RegularExpression".equals(type);
  }

  /**
   * A backend the rule may forward to: weight 1 unless given, above zero, with a port, in the
   * route's namespace (another namespace would need a ReferenceGrant, which Weft does not read yet:
   * such a backend is left out, and its share with it, as the Gateway API requires).
   */
  private static Optional<WeightedBackend> backend(
      HasMetadata route, String namespace, String name, Integer port, Integer weight) {
    String own = route.getMetadata().getNamespace();
    int effectiveWeight = weight == null ? 1 : weight;
    boolean permitted = namespace == null || namespace.equals(own);
    if (effectiveWeight <= 0 || !permitted || port == null) {
      return Optional.empty();
    }
    return Optional.of(new WeightedBackend(new ServiceKey(own, name), port, effectiveWeight));
  }

  private static Optional<RouteRule.Retry> retry(HTTPRouteRetry retry) {
    if (retry == null || retry.getAttempts() == null || retry.getAttempts() == 0) {
      return Optional.empty();
    }
    Optional<Duration> backoff =
        Optional.ofNullable(retry.getBackoff())
            .map(RouteDecoder::duration)
            .filter(base -> !base.isZero());
    return Optional.of(
        new RouteRule.Retry(retry.getAttempts(), orEmpty(retry.getCodes()), backoff));
  }

  private static Optional<RouteRule.HeaderModifier> headerModifier(HTTPHeaderFilter filter) {
    if (filter == null) {
      return Optional.empty();
    }
    return Optional.of(
        new RouteRule.HeaderModifier(
            headers(filter.getSet()), headers(filter.getAdd()), orEmpty(filter.getRemove())));
  }

  private static List<RouteRule.Header> headers(List<HTTPHeader> headers) {
    return orEmpty(headers).stream()
        .map(header -> new RouteRule.Header(header.getName(), header.getValue()))
        .toList();
  }

  /** The filters of a rule, in order: the set, add and remove lists of each, one after another. */
  private static RouteRule.HeaderModifier merged(List<RouteRule.HeaderModifier> modifiers) {
    if (modifiers.isEmpty()) {
      return RouteRule.HeaderModifier.NONE;
    }
    List<RouteRule.Header> set = new ArrayList<>();
    List<RouteRule.Header> add = new ArrayList<>();
    List<String> remove = new ArrayList<>();
    for (RouteRule.HeaderModifier modifier : modifiers) {
      set.addAll(modifier.set());
      add.addAll(modifier.add());
      remove.addAll(modifier.remove());
    }
    return new RouteRule.HeaderModifier(set, add, remove);
  }

  /** A mirror to a Service port in the route's namespace; others are not permitted. */
  private static Optional<RouteRule.Mirror> mirror(
      HasMetadata route, HTTPRequestMirrorFilter mirror) {
    if (mirror == null || mirror.getBackendRef() == null) {
      return Optional.empty();
    }
    BackendObjectReference ref = mirror.getBackendRef();
    String namespace = route.getMetadata().getNamespace();
    if (ref.getPort() == null
        || (ref.getNamespace() != null && !ref.getNamespace().equals(namespace))) {
      return Optional.empty();
    }
    Optional<RouteRule.Fraction> share = Optional.empty();
    if (mirror.getPercent() != null) {
      share = Optional.of(new RouteRule.Fraction(mirror.getPercent(), 100));
    } else if (mirror.getFraction() != null && mirror.getFraction().getNumerator() != null) {
      int denominator =
          mirror.getFraction().getDenominator() == null
              ? 100
              : mirror.getFraction().getDenominator();
      share =
          Optional.of(
              new RouteRule.Fraction(
                  mirror.getFraction().getNumerator(), Math.max(1, denominator)));
    }
    return Optional.of(
        new RouteRule.Mirror(
            new WeightedBackend(new ServiceKey(namespace, ref.getName()), ref.getPort(), 1),
            share));
  }

  /** Validated already, so a duration always parses here. */
  private static Duration duration(String text) {
    Validated<Duration> parsed = GatewayDuration.parse("duration", text);
    if (!(parsed instanceof Validated.Valid<Duration> valid)) {
      throw new IllegalStateException("an unvalidated duration reached decoding: " + text);
    }
    return valid.value();
  }

  /** RFC 3339 timestamps in UTC sort in time order as text; a missing one sorts last. */
  static String created(HasMetadata route) {
    String created = route.getMetadata().getCreationTimestamp();
    return created == null ? "~" : created;
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
