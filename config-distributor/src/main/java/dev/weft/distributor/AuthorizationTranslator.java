package dev.weft.distributor;

import com.google.protobuf.Any;
import dev.weft.api.policy.AuthorizationPolicySpec;
import dev.weft.api.policy.AuthorizationRules;
import dev.weft.api.policy.Wildcard;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * AuthorizationPolicies as Envoy's RBAC HTTP filter, which xDS-enabled gRPC servers (gRFC A41) and
 * Envoy sidecars' HTTP ports enforce, and, for sidecars' TCP ports, as the network RBAC filter
 * ({@link #connectionFilters}): a DENY filter with every DENY policy's rules, then an ALLOW filter
 * with every ALLOW policy's, before the router. That gives Istio's semantics: a call a DENY rule
 * matches is refused; when there is an ALLOW policy, only calls one of its rules matches pass;
 * without policies, there is no filter and every call passes. Pure functions.
 *
 * <p>Callers are matched on the URI SAN of their certificate ({@code principal_name}): principals
 * as {@code spiffe://<principal>}, namespaces as {@code spiffe://<trust domain>/ns/<namespace>/sa/}
 * followed by any service account. Without mutual TLS no call has a principal, so a rule that names
 * callers matches none.
 */
final class AuthorizationTranslator {

  static final String DENY_FILTER = "weft.authorization.deny";
  static final String ALLOW_FILTER = "weft.authorization.allow";

  private static final String SPIFFE = "spiffe://";

  private AuthorizationTranslator() {}

  /**
   * The RBAC filters for {@code policies} (each named {@code namespace/name}), to put before the
   * router; none when there are no policies.
   *
   * @param policies the AuthorizationPolicies that apply, by their qualified names, in a stable
   *     order (translation must be deterministic)
   */
  static List<HttpFilter> filters(List<Named> policies, String trustDomain) {
    List<HttpFilter> filters = new ArrayList<>(2);
    for (RBAC.Action action : List.of(RBAC.Action.DENY, RBAC.Action.ALLOW)) {
      rules(action, policies, trustDomain, false)
          .ifPresent(
              rules ->
                  filters.add(
                      HttpFilter.newBuilder()
                          .setName(action == RBAC.Action.DENY ? DENY_FILTER : ALLOW_FILTER)
                          .setTypedConfig(
                              Any.pack(
                                  io.envoyproxy
                                      .envoy
                                      .extensions
                                      .filters
                                      .http
                                      .rbac
                                      .v3
                                      .RBAC
                                      .newBuilder()
                                      .setRules(rules)
                                      .build()))
                          .build()));
    }
    return filters;
  }

  /**
   * The network RBAC filters for a TCP port of an Envoy sidecar's inbound Listener, to put before
   * {@code tcp_proxy}: they judge each connection by its caller's certificate and port. A rule's
   * HTTP conditions (paths, methods, {@code when} on headers) mean nothing to a connection, so, as
   * Istio does, an ALLOW rule that has any matches no connection (allowing less), and a DENY rule
   * is applied without them (denying more): never more access than the policy gives over HTTP.
   */
  static List<Filter> connectionFilters(
      List<Named> policies, String trustDomain, String statPrefix) {
    List<Filter> filters = new ArrayList<>(2);
    for (RBAC.Action action : List.of(RBAC.Action.DENY, RBAC.Action.ALLOW)) {
      rules(action, policies, trustDomain, true)
          .ifPresent(
              rules ->
                  filters.add(
                      Filter.newBuilder()
                          .setName("envoy.filters.network.rbac")
                          .setTypedConfig(
                              Any.pack(
                                  io.envoyproxy
                                      .envoy
                                      .extensions
                                      .filters
                                      .network
                                      .rbac
                                      .v3
                                      .RBAC
                                      .newBuilder()
                                      .setStatPrefix(
                                          statPrefix
                                              + (action == RBAC.Action.DENY ? ".deny" : ".allow"))
                                      .setRules(rules)
                                      .build()))
                          .build()));
    }
    return filters;
  }

  /** A policy's rules and the name its RBAC policies are called by. */
  record Named(String name, AuthorizationRules rules) {}

  /**
   * The RBAC rules of every policy of {@code action}, or none when no policy has that action.
   * {@code connection}: for a TCP port, see {@link #connectionFilters}.
   */
  private static java.util.Optional<RBAC> rules(
      RBAC.Action action, List<Named> policies, String trustDomain, boolean connection) {
    AuthorizationPolicySpec.Action wanted =
        action == RBAC.Action.DENY
            ? AuthorizationPolicySpec.Action.DENY
            : AuthorizationPolicySpec.Action.ALLOW;
    RBAC.Builder rbac = RBAC.newBuilder().setAction(action);
    boolean any = false;
    for (Named policy : policies) {
      if (policy.rules().action() != wanted) {
        continue;
      }
      any = true;
      List<AuthorizationRules.Rule> rules = policy.rules().rules();
      for (int i = 0; i < rules.size(); i++) {
        AuthorizationRules.Rule rule = rules.get(i);
        if (connection && hasHttpConditions(rule)) {
          if (action == RBAC.Action.ALLOW) {
            continue; // allows no connection
          }
          rule = withoutHttpConditions(rule);
        }
        rbac.putPolicies(policy.name() + "/rules[" + i + "]", policy(rule, trustDomain));
      }
    }
    // An ALLOW policy without rules allows nothing: its filter, with no RBAC policies, refuses
    // every call, as Istio's does.
    return any ? java.util.Optional.of(rbac.build()) : java.util.Optional.empty();
  }

  private static boolean hasHttpConditions(AuthorizationRules.Rule rule) {
    return !rule.when().isEmpty()
        || rule.to().stream()
            .anyMatch(
                to ->
                    !to.paths().isEmpty()
                        || !to.notPaths().isEmpty()
                        || !to.methods().isEmpty()
                        || !to.notMethods().isEmpty());
  }

  /** The rule with only what a connection has: its callers and ports. */
  private static AuthorizationRules.Rule withoutHttpConditions(AuthorizationRules.Rule rule) {
    List<AuthorizationRules.Operation> to = new ArrayList<>();
    for (AuthorizationRules.Operation operation : rule.to()) {
      if (operation.ports().isEmpty() && operation.notPorts().isEmpty()) {
        // Only HTTP conditions: without them it matches every connection, so the rule does.
        to.clear();
        break;
      }
      to.add(
          new AuthorizationRules.Operation(
              operation.ports(), operation.notPorts(), List.of(), List.of(), List.of(), List.of()));
    }
    return new AuthorizationRules.Rule(rule.from(), to, List.of());
  }

  private static Policy policy(AuthorizationRules.Rule rule, String trustDomain) {
    Policy.Builder policy = Policy.newBuilder();
    if (rule.from().isEmpty()) {
      policy.addPrincipals(Principal.newBuilder().setAny(true));
    } else {
      for (AuthorizationRules.Source source : rule.from()) {
        policy.addPrincipals(source(source, trustDomain));
      }
    }
    List<Permission> all = new ArrayList<>();
    if (!rule.to().isEmpty()) {
      all.add(anyOf(rule.to().stream().map(AuthorizationTranslator::operation).toList()));
    }
    for (AuthorizationRules.HeaderCondition condition : rule.when()) {
      all.add(condition(condition));
    }
    policy.addPermissions(allOf(all));
    return policy.build();
  }

  private static Principal source(AuthorizationRules.Source source, String trustDomain) {
    List<Principal> all = new ArrayList<>();
    Function<Wildcard, Principal> principal = AuthorizationTranslator::principal;
    Function<Wildcard, Principal> namespace = ns -> namespace(ns, trustDomain);
    if (!source.principals().isEmpty()) {
      all.add(anyPrincipal(source.principals().stream().map(principal).toList()));
    }
    if (!source.namespaces().isEmpty()) {
      all.add(anyPrincipal(source.namespaces().stream().map(namespace).toList()));
    }
    if (!source.notPrincipals().isEmpty()) {
      all.add(
          Principal.newBuilder()
              .setNotId(anyPrincipal(source.notPrincipals().stream().map(principal).toList()))
              .build());
    }
    if (!source.notNamespaces().isEmpty()) {
      all.add(
          Principal.newBuilder()
              .setNotId(anyPrincipal(source.notNamespaces().stream().map(namespace).toList()))
              .build());
    }
    return all.size() == 1
        ? all.get(0)
        : Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(all)).build();
  }

  /** A principal in Istio's form, matched on the URI SAN {@code spiffe://<principal>}. */
  private static Principal principal(Wildcard principal) {
    StringMatcher.Builder name = StringMatcher.newBuilder();
    switch (principal.kind()) {
      case EXACT -> name.setExact(SPIFFE + principal.text());
      case PREFIX -> name.setPrefix(SPIFFE + principal.text());
      case SUFFIX -> name.setSuffix(principal.text());
      case ANY -> name.setPrefix(SPIFFE);
    }
    return authenticated(name.build());
  }

  /** A namespace: any service account of it, in the mesh's trust domain. */
  private static Principal namespace(Wildcard namespace, String trustDomain) {
    String label = "[a-z0-9-]";
    String pattern =
        switch (namespace.kind()) {
          case EXACT -> RouteTranslator.quote(namespace.text());
          case PREFIX -> RouteTranslator.quote(namespace.text()) + label + "*";
          case SUFFIX -> label + "*" + RouteTranslator.quote(namespace.text());
          case ANY -> label + "+";
        };
    return authenticated(
        StringMatcher.newBuilder()
            .setSafeRegex(
                RegexMatcher.newBuilder()
                    .setRegex(
                        RouteTranslator.quote(SPIFFE + trustDomain + "/ns/")
                            + pattern
                            + "/sa/[^/]+"))
            .build());
  }

  private static Principal authenticated(StringMatcher name) {
    return Principal.newBuilder()
        .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(name))
        .build();
  }

  private static Permission operation(AuthorizationRules.Operation operation) {
    List<Permission> all = new ArrayList<>();
    if (!operation.ports().isEmpty()) {
      all.add(anyOf(operation.ports().stream().map(AuthorizationTranslator::port).toList()));
    }
    if (!operation.paths().isEmpty()) {
      all.add(anyOf(operation.paths().stream().map(AuthorizationTranslator::path).toList()));
    }
    if (!operation.methods().isEmpty()) {
      all.add(anyOf(operation.methods().stream().map(AuthorizationTranslator::method).toList()));
    }
    if (!operation.notPorts().isEmpty()) {
      all.add(
          not(anyOf(operation.notPorts().stream().map(AuthorizationTranslator::port).toList())));
    }
    if (!operation.notPaths().isEmpty()) {
      all.add(
          not(anyOf(operation.notPaths().stream().map(AuthorizationTranslator::path).toList())));
    }
    if (!operation.notMethods().isEmpty()) {
      all.add(
          not(
              anyOf(
                  operation.notMethods().stream().map(AuthorizationTranslator::method).toList())));
    }
    return allOf(all);
  }

  private static Permission port(int port) {
    return Permission.newBuilder().setDestinationPort(port).build();
  }

  private static Permission path(Wildcard path) {
    if (path.kind() == Wildcard.Kind.ANY) {
      return Permission.newBuilder().setAny(true).build();
    }
    return Permission.newBuilder()
        .setUrlPath(PathMatcher.newBuilder().setPath(string(path)))
        .build();
  }

  private static Permission method(String method) {
    return header(":method", StringMatcher.newBuilder().setExact(method).build());
  }

  private static Permission condition(AuthorizationRules.HeaderCondition condition) {
    List<Permission> all = new ArrayList<>();
    Function<Wildcard, Permission> value = v -> headerValue(condition.header(), v);
    if (!condition.values().isEmpty()) {
      all.add(anyOf(condition.values().stream().map(value).toList()));
    }
    if (!condition.notValues().isEmpty()) {
      all.add(not(anyOf(condition.notValues().stream().map(value).toList())));
    }
    return allOf(all);
  }

  private static Permission headerValue(String header, Wildcard value) {
    if (value.kind() == Wildcard.Kind.ANY) {
      return Permission.newBuilder()
          .setHeader(HeaderMatcher.newBuilder().setName(header).setPresentMatch(true))
          .build();
    }
    return header(header, string(value));
  }

  private static Permission header(String name, StringMatcher value) {
    return Permission.newBuilder()
        .setHeader(HeaderMatcher.newBuilder().setName(name).setStringMatch(value))
        .build();
  }

  private static StringMatcher string(Wildcard wildcard) {
    StringMatcher.Builder matcher = StringMatcher.newBuilder();
    switch (wildcard.kind()) {
      case EXACT -> matcher.setExact(wildcard.text());
      case PREFIX -> matcher.setPrefix(wildcard.text());
      case SUFFIX -> matcher.setSuffix(wildcard.text());
      case ANY -> matcher.setSafeRegex(RegexMatcher.newBuilder().setRegex(".*"));
    }
    return matcher.build();
  }

  private static Permission not(Permission permission) {
    return Permission.newBuilder().setNotRule(permission).build();
  }

  /** Any of {@code permissions}; Envoy wants a set of at least one, so one stands alone. */
  private static Permission anyOf(List<Permission> permissions) {
    return permissions.size() == 1
        ? permissions.get(0)
        : Permission.newBuilder()
            .setOrRules(Permission.Set.newBuilder().addAllRules(permissions))
            .build();
  }

  /** All of {@code permissions}; none is any request. */
  private static Permission allOf(List<Permission> permissions) {
    if (permissions.isEmpty()) {
      return Permission.newBuilder().setAny(true).build();
    }
    return permissions.size() == 1
        ? permissions.get(0)
        : Permission.newBuilder()
            .setAndRules(Permission.Set.newBuilder().addAllRules(permissions))
            .build();
  }

  private static Principal anyPrincipal(List<Principal> principals) {
    return principals.size() == 1
        ? principals.get(0)
        : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(principals)).build();
  }
}
