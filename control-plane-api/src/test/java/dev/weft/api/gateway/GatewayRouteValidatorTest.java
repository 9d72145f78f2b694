package dev.weft.api.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each broken route is refused with the field that is wrong and why. */
class GatewayRouteValidatorTest {

  private static final String HTTP_ROUTE =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: r, namespace: demo}
      spec:
        parentRefs: [{group: "", kind: Service, name: reviews}]
        rules:
        - %s
      """;

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          every weight zero    | backendRefs: [{name: a, port: 80, weight: 0}, {name: b, port: 80, weight: 0}] | spec.rules[0].backendRefs | every weight is 0
          a negative weight    | backendRefs: [{name: a, port: 80, weight: -1}]                          | spec.rules[0].backendRefs[0].weight | outside 0..1000000
          no backend port      | backendRefs: [{name: a}]                                               | spec.rules[0].backendRefs[0].port | required for a Service
          a relative path      | matches: [{path: {type: PathPrefix, value: api}}]                       | spec.rules[0].matches[0].path.value | must start with "/"
          a broken regex       | matches: [{path: {type: RegularExpression, value: "/a("}}]              | spec.rules[0].matches[0].path.value | not a valid regular expression
          an unknown method    | matches: [{method: FETCH}]                                             | spec.rules[0].matches[0].method | not an HTTP method
          a retry code of 600  | retry: {attempts: 2, codes: [600]}                                     | spec.rules[0].retry.codes[0] | not a status in 400..599
          negative attempts    | retry: {attempts: -1}                                                  | spec.rules[0].retry.attempts | must not be negative
          a backend timeout longer than the request's | timeouts: {request: 1s, backendRequest: 2s}  | spec.rules[0].timeouts.backendRequest | must not be longer than the request timeout
          a nonsense duration  | timeouts: {request: soon}                                              | spec.rules[0].timeouts.request |
          two header modifiers | filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}]}}, {type: RequestHeaderModifier, requestHeaderModifier: {remove: [c]}}] | spec.rules[0].filters[1].requestHeaderModifier | may appear only once
          a header name with a space | filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: "x y", value: b}]}}] | spec.rules[0].filters[0].requestHeaderModifier.add[0].name | not an HTTP header name
          a mirror without a port | filters: [{type: RequestMirror, requestMirror: {backendRef: {name: shadow}}}] | spec.rules[0].filters[0].requestMirror.backendRef.port | required
          a header value with a line break | filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: "b\\r\\nx: y"}]}}] | spec.rules[0].filters[0].requestHeaderModifier.set[0].value | control character
          a query name too long | matches: [{queryParams: [{name: qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq, value: v}]}] | spec.rules[0].matches[0].queryParams[0].name | longer than 256
          an empty filter      | filters: [null]                                                       | spec.rules[0].filters[0] | required
          """)
  void brokenHttpRoutesAreRefusedWithTheirField(
      String what, String rule, String path, String reason) {
    HTTPRoute route = Serialization.unmarshal(HTTP_ROUTE.formatted(rule), HTTPRoute.class);

    List<FieldError> errors = GatewayRouteValidator.validate(route).errors();

    assertThat(errors)
        .as(what)
        .anySatisfy(
            error -> {
              assertThat(error.path()).isEqualTo(path);
              assertThat(error.reason()).contains(reason == null ? "" : reason);
            });
  }

  /**
   * An empty list item ({@code -} with nothing after it, or {@code null}) is an error at its own
   * path; it used to throw a NullPointerException out of validation.
   */
  @Test
  void emptyListItemsOfAnHttpRouteAreRequired() {
    HTTPRoute route =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: r, namespace: demo}
            spec:
              parentRefs:
              -
              - {group: "", kind: Service, name: reviews}
              rules:
              -
              - matches:
                -
                - headers: [null]
                  queryParams: [null]
                backendRefs: [null, {name: reviews-v2, port: 80}]
                retry: {codes: [null]}
            """,
            HTTPRoute.class);

    assertThat(GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())).isTrue();
    assertThat(GatewayRouteValidator.validate(route).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.parentRefs[0]: required",
            "spec.rules[0]: required",
            "spec.rules[1].matches[0]: required",
            "spec.rules[1].matches[1].headers[0]: required",
            "spec.rules[1].matches[1].queryParams[0]: required",
            "spec.rules[1].backendRefs[0]: required",
            "spec.rules[1].retry.codes[0]: required");
  }

  @Test
  void emptyListItemsOfAGrpcRouteAreRequired() {
    GRPCRoute route =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: r, namespace: demo}
            spec:
              parentRefs: [null, {group: "", kind: Service, name: greeter}]
              rules:
              -
              - matches: [null, {headers: [null]}]
                backendRefs: [null]
            """,
            GRPCRoute.class);

    assertThat(GatewayRouteValidator.validate(route).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.parentRefs[0]: required",
            "spec.rules[0]: required",
            "spec.rules[1].matches[0]: required",
            "spec.rules[1].matches[1].headers[0]: required",
            "spec.rules[1].backendRefs[0]: required");
  }

  @Test
  void aRouteWhoseOnlyParentIsAnEmptyItemIsNotAMeshRoute() {
    HTTPRoute route =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: r, namespace: demo}
            spec:
              parentRefs: [null]
            """,
            HTTPRoute.class);

    assertThat(GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())).isFalse();
    assertThat(GatewayRouteValidator.isWeftHttpRoute(route.getSpec().getParentRefs())).isFalse();
    assertThat(GatewayRouteValidator.validate(route).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.parentRefs: must name at least one Service (kind: Service, group: \"\") or"
                + " Gateway");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          a Gateway parent only | parentRefs: [{kind: Gateway, name: edge}]                    | spec.parentRefs | must name at least one Service
          an empty method match | parentRefs: [{kind: Service, name: s}]\\n  rules: [{matches: [{method: {type: Exact}}]}] | spec.rules[0].matches[0].method | needs a service, a method, or both
          """)
  void brokenGrpcRoutesAreRefusedWithTheirField(
      String what, String spec, String path, String reason) {
    GRPCRoute route =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: r, namespace: demo}
            spec:
              %s
            """
                .formatted(spec.replace("\\n", "\n")),
            GRPCRoute.class);

    Validated<GRPCRoute> result = GatewayRouteValidator.validate(route);

    assertThat(result.errors())
        .as(what)
        .anySatisfy(
            error -> {
              assertThat(error.path()).isEqualTo(path);
              assertThat(error.reason()).contains(reason);
            });
  }
}
