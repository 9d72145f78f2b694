package dev.weft.api.policy;

import java.util.List;

/**
 * A valid {@link AuthorizationPolicy} as plain values, for translators.
 *
 * @param targets the Services it applies to
 * @param action ALLOW or DENY
 * @param rules the calls it matches: any rule (none: no call)
 */
public record AuthorizationRules(
    List<PolicyTarget> targets, AuthorizationPolicySpec.Action action, List<Rule> rules) {

  public AuthorizationRules {
    targets = List.copyOf(targets);
    rules = List.copyOf(rules);
  }

  /**
   * One rule: every part that is not empty must match.
   *
   * @param from callers, any of them (empty: any caller)
   * @param to operations, any of them (empty: any operation)
   * @param when header conditions, all of them
   */
  public record Rule(List<Source> from, List<Operation> to, List<HeaderCondition> when) {
    public Rule {
      from = List.copyOf(from);
      to = List.copyOf(to);
      when = List.copyOf(when);
    }
  }

  /**
   * Callers by their certificate's SPIFFE ID. Principals are in Istio's form, {@code <trust
   * domain>/ns/<namespace>/sa/<service account>}, without {@code spiffe://}. Every list that is not
   * empty must match; within a list, any entry.
   */
  public record Source(
      List<Wildcard> principals,
      List<Wildcard> notPrincipals,
      List<Wildcard> namespaces,
      List<Wildcard> notNamespaces) {
    public Source {
      principals = List.copyOf(principals);
      notPrincipals = List.copyOf(notPrincipals);
      namespaces = List.copyOf(namespaces);
      notNamespaces = List.copyOf(notNamespaces);
    }
  }

  /** What is called; every list that is not empty must match, within a list any entry. */
  public record Operation(
      List<Integer> ports,
      List<Integer> notPorts,
      List<Wildcard> paths,
      List<Wildcard> notPaths,
      List<String> methods,
      List<String> notMethods) {
    public Operation {
      ports = List.copyOf(ports);
      notPorts = List.copyOf(notPorts);
      paths = List.copyOf(paths);
      notPaths = List.copyOf(notPaths);
      methods = List.copyOf(methods);
      notMethods = List.copyOf(notMethods);
    }
  }

  /**
   * A request header that must have one of {@code values} (when any) and none of {@code notValues}.
   *
   * @param header the header's name, lowercase
   */
  public record HeaderCondition(String header, List<Wildcard> values, List<Wildcard> notValues) {
    public HeaderCondition {
      values = List.copyOf(values);
      notValues = List.copyOf(notValues);
    }
  }
}
