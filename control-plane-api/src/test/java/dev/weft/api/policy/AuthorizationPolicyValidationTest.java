package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.authorization;
import static dev.weft.api.policy.Policies.authorizationSpec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AuthorizationPolicyValidationTest {

  @Test
  void aPolicyAsUsersWriteItBecomesItsRules() {
    AuthorizationRules rules =
        valid(
            authorization(
                """
                action: ALLOW
                rules:
                - from:
                  - principals: ["cluster.local/ns/shop/sa/checkout", "spiffe://cluster.local/ns/ops/sa/*"]
                    notNamespaces: [test-*]
                  to:
                  - paths: ["/weft.demo.Greeter/*"]
                    methods: [POST]
                    ports: [50051]
                  when:
                  - {header: X-Tenant, values: [acme], notValues: ["*-test"]}
                """));

    assertThat(rules.action()).isEqualTo(AuthorizationPolicySpec.Action.ALLOW);
    assertThat(rules.targets())
        .containsExactly(new PolicyTarget("shop", "reviews", java.util.Optional.empty()));
    AuthorizationRules.Rule rule = rules.rules().get(0);
    assertThat(rule.from().get(0).principals())
        .containsExactly(
            new Wildcard(Wildcard.Kind.EXACT, "cluster.local/ns/shop/sa/checkout"),
            new Wildcard(Wildcard.Kind.PREFIX, "cluster.local/ns/ops/sa/"));
    assertThat(rule.from().get(0).notNamespaces())
        .containsExactly(new Wildcard(Wildcard.Kind.PREFIX, "test-"));
    assertThat(rule.to().get(0).paths())
        .containsExactly(new Wildcard(Wildcard.Kind.PREFIX, "/weft.demo.Greeter/"));
    assertThat(rule.to().get(0).ports()).containsExactly(50051);
    assertThat(rule.when().get(0).header()).isEqualTo("x-tenant");
    assertThat(rule.when().get(0).notValues())
        .containsExactly(new Wildcard(Wildcard.Kind.SUFFIX, "-test"));
  }

  @Test
  void theActionIsAllowByDefaultAndNoRulesIsValid() {
    AuthorizationRules rules =
        valid(authorizationSpec("  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n"));

    assertThat(rules.action()).isEqualTo(AuthorizationPolicySpec.Action.ALLOW);
    assertThat(rules.rules()).isEmpty();
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of(
            "rules: [{from: [{principals: [\"cluster.local/ns/*/sa/web\"]}]}]",
            "spec.rules[0].from[0].principals[0]",
            "\"cluster.local/ns/*/sa/web\" has a '*' that is not at its start or end"),
        Arguments.of(
            "rules: [{from: [{principals: [\"shop/checkout\"]}]}]",
            "spec.rules[0].from[0].principals[0]",
            "\"shop/checkout\" is not a principal"
                + " (<trust domain>/ns/<namespace>/sa/<service account>)"),
        Arguments.of(
            "rules: [{from: [{namespaces: [Shop]}]}]",
            "spec.rules[0].from[0].namespaces[0]",
            "\"Shop\" is not a namespace (lowercase letters, digits and '-')"),
        Arguments.of(
            "rules: [{from: [{}]}]",
            "spec.rules[0].from[0]",
            "names no principals, notPrincipals, namespaces or notNamespaces; to match any caller,"
                + " leave from out"),
        Arguments.of(
            "rules: [{to: [{paths: [weft.demo.Greeter/SayHello]}]}]",
            "spec.rules[0].to[0].paths[0]",
            "\"weft.demo.Greeter/SayHello\" is not a path starting with '/' (a gRPC method is"
                + " /<package>.<Service>/<Method>)"),
        Arguments.of(
            "rules: [{to: [{methods: [get]}]}]",
            "spec.rules[0].to[0].methods[0]",
            "\"get\" is not an HTTP method in capitals, such as GET or POST"),
        Arguments.of(
            "rules: [{to: [{ports: [0]}]}]",
            "spec.rules[0].to[0].ports[0]",
            "0 is not a port (1 to 65535)"),
        Arguments.of(
            "rules: [{when: [{header: x-tenant}]}]",
            "spec.rules[0].when[0]",
            "gives no values or notValues; '*' matches any value"),
        Arguments.of(
            "rules: [{when: [{header: \"x tenant\", values: [a]}]}]",
            "spec.rules[0].when[0].header",
            "\"x tenant\" is not a header name"),
        // Empty list items ("-" with nothing after it) are reported where they are.
        Arguments.of("rules: [null]", "spec.rules[0]", "required; {} matches every call"),
        Arguments.of(
            "rules: [{from: [null]}]",
            "spec.rules[0].from[0]",
            "names no principals, notPrincipals, namespaces or notNamespaces; to match any caller,"
                + " leave from out"),
        Arguments.of(
            "rules: [{from: [{principals: [null]}]}]",
            "spec.rules[0].from[0].principals[0]",
            "must not be empty"),
        Arguments.of(
            "rules: [{to: [{ports: [null]}]}]", "spec.rules[0].to[0].ports[0]", "required"),
        Arguments.of(
            "rules: [{to: [{methods: [null]}]}]", "spec.rules[0].to[0].methods[0]", "required"),
        Arguments.of("rules: [{when: [null]}]", "spec.rules[0].when[0]", "required"),
        Arguments.of("action: AUDIT", "spec.action", null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void invalidFieldsAreRejectedWithTheirPathAndReason(String fragment, String path, String reason) {
    if (reason == null) {
      // An unknown enum value fails at parsing, before validation, as the API server's schema
      // would.
      assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> authorization(fragment)))
          .isNotNull();
      return;
    }
    assertThat(PolicyValidator.validate(authorization(fragment)).errors())
        .contains(new FieldError(path, reason));
  }

  @Test
  void aSectionNameIsRefusedBecauseServersEnforceAuthorization() {
    assertThat(
            PolicyValidator.validate(
                    authorizationSpec(
                        "  targetRefs: [{group: \"\", kind: Service, name: reviews, sectionName: a}]\n"))
                .errors())
        .contains(
            new FieldError(
                "spec.targetRefs[0].sectionName",
                "an AuthorizationPolicy applies to a whole Service: its servers enforce it, and"
                    + " route rules are the callers'"));
  }

  @Test
  void severalAuthorizationPoliciesOnOneServiceDoNotConflict() {
    AuthorizationPolicy first = authorization("action: DENY\nrules: [{}]");
    AuthorizationPolicy second = authorization("rules: [{}]");
    second.getMetadata().setName("q");

    assertThat(PolicyConflicts.resolve(List.of(first, second))).isEmpty();
  }

  private static AuthorizationRules valid(AuthorizationPolicy policy) {
    Validated<AuthorizationRules> result = PolicyValidator.validate(policy);
    assertThat(result.errors()).isEmpty();
    return ((Validated.Valid<AuthorizationRules>) result).value();
  }
}
