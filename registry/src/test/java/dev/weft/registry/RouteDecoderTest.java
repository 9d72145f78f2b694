package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.registry.model.MeshRoute;
import dev.weft.registry.model.RouteMatch;
import dev.weft.registry.model.RoutePrecedence;
import dev.weft.registry.model.RouteRule;
import dev.weft.registry.model.WeightedBackend;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Routes decode once, with the Gateway API's defaults, into the model every emitter reads. */
class RouteDecoderTest {

  @Test
  void anHttpRouteDecodesWithTheGatewayApisDefaults() {
    MeshRoute route =
        RouteDecoder.decode(
            http(
                """
                metadata: {name: canary, namespace: shop, creationTimestamp: "2026-11-30T10:00:00Z"}
                spec:
                  parentRefs:
                  - {group: "", kind: Service, name: checkout, port: 8080}
                  - {group: "", kind: Service, name: other, namespace: elsewhere}
                  - {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
                  rules:
                  - name: split
                    backendRefs:
                    - {name: checkout-v1, port: 8080}
                    - {name: checkout-v2, port: 8080, weight: 10}
                    - {name: drained, port: 8080, weight: 0}
                    - {name: foreign, namespace: elsewhere, port: 8080}
                    timeouts: {request: 2s}
                    retry: {attempts: 2, codes: [503], backoff: 0s}
                    filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier: {set: [{name: X-Canary, value: "1"}], remove: [x-debug]}
                    - type: RequestMirror
                      requestMirror: {backendRef: {name: shadow, port: 8080}, percent: 5}
                  - matches:
                    - headers: [{name: X-User, value: tester}]
                      queryParams: [{name: Debug, type: RegularExpression, value: "1|yes"}]
                    backendRefs: [{name: checkout-v2, port: 8080}]
                """));

    assertThat(route.protocol()).isEqualTo(MeshRoute.Protocol.HTTP);
    assertThat(route.created()).isEqualTo("2026-11-30T10:00:00Z");
    // Only Service parents in the route's namespace attach.
    assertThat(route.parents())
        .containsExactly(new MeshRoute.ServiceParent("checkout", OptionalInt.of(8080)));
    assertThat(route.attachesTo(new ServiceKey("shop", "checkout"), 8080)).isTrue();
    assertThat(route.attachesTo(new ServiceKey("shop", "checkout"), 9090)).isFalse();

    RouteRule split = route.rules().get(0);
    assertThat(split.name()).contains("split");
    // No matches: every path. Weight 1 unless given; zero weights and other namespaces drop out.
    assertThat(split.matches())
        .containsExactly(
            new RouteMatch.Http(
                RouteMatch.PathMatch.EVERY_PATH, Optional.empty(), List.of(), List.of()));
    assertThat(split.backends())
        .containsExactly(
            new WeightedBackend(new ServiceKey("shop", "checkout-v1"), 8080, 1),
            new WeightedBackend(new ServiceKey("shop", "checkout-v2"), 8080, 10));
    assertThat(split.requestTimeout()).contains(Duration.ofSeconds(2));
    assertThat(split.retry()).contains(new RouteRule.Retry(2, List.of(503), Optional.empty()));
    assertThat(split.requestHeaders().set()).containsExactly(new RouteRule.Header("X-Canary", "1"));
    assertThat(split.requestHeaders().remove()).containsExactly("x-debug");
    assertThat(split.mirrors())
        .containsExactly(
            new RouteRule.Mirror(
                new WeightedBackend(new ServiceKey("shop", "shadow"), 8080, 1),
                Optional.of(new RouteRule.Fraction(5, 100))));

    RouteMatch.Http match = (RouteMatch.Http) route.rules().get(1).matches().get(0);
    // Header names ignore case; query parameter names do not.
    assertThat(match.headers())
        .containsExactly(new RouteMatch.StringMatch("x-user", false, "tester"));
    assertThat(match.queryParams())
        .containsExactly(new RouteMatch.StringMatch("Debug", true, "1|yes"));
  }

  @Test
  void aRuleWhoseBackendsAllDropOutForwardsNowhere() {
    MeshRoute route =
        RouteDecoder.decode(
            http(
                """
                metadata: {name: r, namespace: shop}
                spec:
                  parentRefs: [{group: "", kind: Service, name: checkout}]
                  rules:
                  - backendRefs: [{name: a, port: 80, weight: 0}, {name: b, namespace: x, port: 80}]
                """));

    assertThat(route.rules().get(0).forwards()).isFalse();
    assertThat(route.created()).isEqualTo("~");
  }

  @Test
  void precedencePutsGrpcRoutesFirstThenTheMostSpecificThenTheOldest() {
    MeshRoute older =
        RouteDecoder.decode(
            http(
                """
                metadata: {name: b-older, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
                spec:
                  parentRefs: [{group: "", kind: Service, name: checkout}]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: /api}}, {path: {type: Exact, value: /api/v1}}]
                    backendRefs: [{name: checkout, port: 80}]
                """));
    MeshRoute newer =
        RouteDecoder.decode(
            http(
                """
                metadata: {name: a-newer, namespace: shop, creationTimestamp: "2026-06-01T00:00:00Z"}
                spec:
                  parentRefs: [{group: "", kind: Service, name: checkout}]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: /api}}]
                    backendRefs: [{name: checkout, port: 80}]
                """));
    MeshRoute grpc =
        RouteDecoder.decode(
            Serialization.unmarshal(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: z-grpc, namespace: shop}
                spec:
                  parentRefs: [{group: "", kind: Service, name: checkout}]
                  rules:
                  - matches: [{method: {service: shop.Checkout}}]
                    backendRefs: [{name: checkout, port: 80}]
                """,
                GRPCRoute.class));

    List<String> order =
        RoutePrecedence.order(List.of(newer, older, grpc), new ServiceKey("shop", "checkout"), 80)
            .stream()
            .map(RoutePrecedence.Entry::name)
            .toList();

    assertThat(order)
        .containsExactly(
            "GRPCRoute/shop/z-grpc/rule-0/match-0",
            "HTTPRoute/shop/b-older/rule-0/match-1", // an exact path
            "HTTPRoute/shop/b-older/rule-0/match-0", // the same prefix, but older
            "HTTPRoute/shop/a-newer/rule-0/match-0");
  }

  private static HTTPRoute http(String body) {
    return Serialization.unmarshal(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" + body, HTTPRoute.class);
  }
}
