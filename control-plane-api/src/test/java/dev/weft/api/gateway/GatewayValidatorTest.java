package dev.weft.api.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each broken Gateway is refused with the field that is wrong and why, including what the Gateway
 * API allows and Weft's gateways do not do, which is named rather than ignored.
 */
class GatewayValidatorTest {

  private static final String GATEWAY =
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: {name: edge, namespace: shop}
      spec:
        gatewayClassName: weft
        listeners: [%s]
      """;

  @Test
  void httpAndHttpsListenersAreAccepted() {
    Gateway gateway =
        gateway(
            "{name: http, port: 80, protocol: HTTP},"
                + " {name: shop, port: 443, protocol: HTTPS, hostname: shop.example.com,"
                + " tls: {certificateRefs: [{name: shop-cert}]}},"
                + " {name: other, port: 443, protocol: HTTPS, hostname: \"*.example.com\","
                + " tls: {mode: Terminate, certificateRefs: [{kind: Secret, group: \"\", name: wild,"
                + " namespace: shop}]}, allowedRoutes: {namespaces: {from: All}}}");

    assertThat(GatewayValidator.validate(gateway).errors()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          a TCP listener            | {name: db, port: 5432, protocol: TCP}                                  | spec.listeners[0].protocol | "TCP" is not supported by Weft's gateways: HTTP or HTTPS
          no port                   | {name: http, protocol: HTTP}                                           | spec.listeners[0].port | required
          port 0                    | {name: http, port: 0, protocol: HTTP}                                  | spec.listeners[0].port | 0 is not a port number (1..65535)
          an upper-case name        | {name: HTTP, port: 80, protocol: HTTP}                                 | spec.listeners[0].name | is not a DNS subdomain
          an IP as host name        | {name: http, port: 80, protocol: HTTP, hostname: 10.0.0.1}              | spec.listeners[0].hostname | not an IP
          HTTPS without TLS         | {name: https, port: 443, protocol: HTTPS}                              | spec.listeners[0].tls | required for protocol HTTPS
          HTTP with TLS             | {name: http, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}} | spec.listeners[0].tls | must be left out for protocol HTTP
          TLS passthrough           | {name: https, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}   | spec.listeners[0].tls.mode | "Passthrough" is not supported by Weft's gateways
          no certificate            | {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: []}} | spec.listeners[0].tls.certificateRefs | at least one Secret is required
          a certificate elsewhere   | {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: c, namespace: vault}]}} | spec.listeners[0].tls.certificateRefs[0].namespace | needs a ReferenceGrant
          a ConfigMap certificate   | {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{kind: ConfigMap, name: c}]}} | spec.listeners[0].tls.certificateRefs[0] | must name a Secret
          a namespace selector      | {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector}}} | spec.listeners[0].allowedRoutes.namespaces.from | "Selector" is not supported
          TCPRoutes                 | {name: http, port: 80, protocol: HTTP, allowedRoutes: {kinds: [{kind: TCPRoute}]}} | spec.listeners[0].allowedRoutes.kinds[0] | HTTPRoutes only
          two listeners of one name | {name: a, port: 80, protocol: HTTP}, {name: a, port: 81, protocol: HTTP} | spec.listeners[1].name | already the name of listener 0
          two protocols on a port   | {name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTPS, hostname: b.example.com, tls: {certificateRefs: [{name: c}]}} | spec.listeners[1].protocol | one protocol per port
          one host twice on a port  | {name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP} | spec.listeners[1].hostname | listener 0 already serves every host on port 80
          """)
  void brokenGatewaysAreRefusedWithTheirField(
      String what, String listeners, String path, String reason) {
    List<FieldError> errors = GatewayValidator.validate(gateway(listeners)).errors();

    assertThat(errors)
        .as(what)
        .anySatisfy(
            error -> {
              assertThat(error.path()).isEqualTo(path);
              assertThat(error.reason()).contains(reason);
            });
  }

  @Test
  void aGatewayNeedsItsClassAndListeners() {
    Gateway gateway =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: shop}
            spec: {listeners: []}
            """,
            Gateway.class);

    assertThat(GatewayValidator.validate(gateway).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.gatewayClassName: required", "spec.listeners: at least one listener is required");
  }

  @Test
  void aClassNeedsADomainPrefixedControllerName() {
    GatewayClass nameless =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: weft}
            spec: {controllerName: weft}
            """,
            GatewayClass.class);

    assertThat(GatewayValidator.validate(nameless).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.controllerName: \"weft\" is not a domain-prefixed path such as"
                + " weft.dev/gateway-controller");
  }

  @Test
  void anHttpRouteOnAGatewayIsWeftsAndItsHostNamesAreChecked() {
    HTTPRoute route =
        Serialization.unmarshal(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: shop, namespace: shop}
            spec:
              parentRefs: [{name: edge}]
              hostnames: [shop.example.com, "Shop.Example.com"]
              rules: [{backendRefs: [{name: cart, port: 8080}]}]
            """,
            HTTPRoute.class);

    assertThat(GatewayRouteValidator.isWeftHttpRoute(route.getSpec().getParentRefs())).isTrue();
    assertThat(GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())).isFalse();
    assertThat(GatewayRouteValidator.validate(route).errors())
        .extracting(FieldError::toString)
        .containsExactly(
            "spec.hostnames[1]: \"Shop.Example.com\" is not a host name (lowercase DNS labels, the"
                + " first may be '*'; not an IP)");
  }

  private static Gateway gateway(String listeners) {
    return Serialization.unmarshal(GATEWAY.formatted(listeners), Gateway.class);
  }
}
