package dev.weft.api.policy;

import dev.weft.api.validation.FieldErrors;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The checks of an {@link AuthorizationPolicy}'s rules. Each records its errors under the field's
 * path and returns what it could parse, so that one pass reports every problem.
 */
final class AuthorizationPolicyChecks {

  private static final String SPIFFE = "spiffe://";

  // <trust domain>/ns/<namespace>/sa/<service account>: SPIFFE's and Kubernetes' characters.
  private static final Pattern PRINCIPAL =
      Pattern.compile("^[a-z0-9._-]+/ns/[a-z0-9]([-a-z0-9]*[a-z0-9])?/sa/[a-z0-9.-]+$");
  private static final Pattern PRINCIPAL_PART = Pattern.compile("^[a-z0-9._/-]*$");
  private static final Pattern NAMESPACE = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  private static final Pattern NAMESPACE_PART = Pattern.compile("^[-a-z0-9]*$");
  // What a request path may hold: visible ASCII, no spaces.
  private static final Pattern PATH = Pattern.compile("^[\\x21-\\x7e]*$");
  private static final Pattern METHOD = Pattern.compile("^[A-Z]+$");

  private AuthorizationPolicyChecks() {}

  static List<AuthorizationRules.Rule> rules(
      List<AuthorizationPolicySpec.Rule> rules, FieldErrors errors) {
    List<AuthorizationRules.Rule> parsed = new ArrayList<>();
    for (int i = 0; i < orEmpty(rules).size(); i++) {
      String at = FieldErrors.indexed("spec.rules", i);
      AuthorizationPolicySpec.Rule rule = rules.get(i);
      if (rule == null) {
        errors.add(at, "required; {} matches every call");
        continue;
      }
      List<AuthorizationRules.Source> from = new ArrayList<>();
      for (int j = 0; j < orEmpty(rule.getFrom()).size(); j++) {
        from.add(source(FieldErrors.indexed(at + ".from", j), rule.getFrom().get(j), errors));
      }
      List<AuthorizationRules.Operation> to = new ArrayList<>();
      for (int j = 0; j < orEmpty(rule.getTo()).size(); j++) {
        to.add(operation(FieldErrors.indexed(at + ".to", j), rule.getTo().get(j), errors));
      }
      List<AuthorizationRules.HeaderCondition> when = new ArrayList<>();
      for (int j = 0; j < orEmpty(rule.getWhen()).size(); j++) {
        when.add(condition(FieldErrors.indexed(at + ".when", j), rule.getWhen().get(j), errors));
      }
      parsed.add(new AuthorizationRules.Rule(from, to, when));
    }
    return parsed;
  }

  private static AuthorizationRules.Source source(
      String at, AuthorizationPolicySpec.Source source, FieldErrors errors) {
    if (source == null || allEmpty(source)) {
      errors.add(
          at,
          "names no principals, notPrincipals, namespaces or notNamespaces; to match any caller,"
              + " leave from out");
      return new AuthorizationRules.Source(List.of(), List.of(), List.of(), List.of());
    }
    return new AuthorizationRules.Source(
        principals(at + ".principals", source.getPrincipals(), errors),
        principals(at + ".notPrincipals", source.getNotPrincipals(), errors),
        wildcards(
            at + ".namespaces",
            source.getNamespaces(),
            AuthorizationPolicyChecks::isNamespace,
            "a namespace (lowercase letters, digits and '-')",
            errors),
        wildcards(
            at + ".notNamespaces",
            source.getNotNamespaces(),
            AuthorizationPolicyChecks::isNamespace,
            "a namespace (lowercase letters, digits and '-')",
            errors));
  }

  private static boolean allEmpty(AuthorizationPolicySpec.Source source) {
    return orEmpty(source.getPrincipals()).isEmpty()
        && orEmpty(source.getNotPrincipals()).isEmpty()
        && orEmpty(source.getNamespaces()).isEmpty()
        && orEmpty(source.getNotNamespaces()).isEmpty();
  }

  /** Principals, normalized to Istio's form (without {@code spiffe://}). */
  private static List<Wildcard> principals(String path, List<String> values, FieldErrors errors) {
    List<String> normalized = new ArrayList<>();
    for (String value : orEmpty(values)) {
      normalized.add(
          value != null && value.startsWith(SPIFFE) ? value.substring(SPIFFE.length()) : value);
    }
    return wildcards(
        path,
        normalized,
        AuthorizationPolicyChecks::isPrincipal,
        "a principal (<trust domain>/ns/<namespace>/sa/<service account>)",
        errors);
  }

  private static boolean isPrincipal(Wildcard wildcard) {
    return wildcard.kind() == Wildcard.Kind.EXACT
        ? PRINCIPAL.matcher(wildcard.text()).matches()
        : PRINCIPAL_PART.matcher(wildcard.text()).matches();
  }

  private static boolean isNamespace(Wildcard wildcard) {
    return wildcard.kind() == Wildcard.Kind.EXACT
        ? NAMESPACE.matcher(wildcard.text()).matches() && wildcard.text().length() <= 63
        : NAMESPACE_PART.matcher(wildcard.text()).matches();
  }

  private static AuthorizationRules.Operation operation(
      String at, AuthorizationPolicySpec.Operation operation, FieldErrors errors) {
    if (operation == null
        || (orEmpty(operation.getPorts()).isEmpty()
            && orEmpty(operation.getNotPorts()).isEmpty()
            && orEmpty(operation.getPaths()).isEmpty()
            && orEmpty(operation.getNotPaths()).isEmpty()
            && orEmpty(operation.getMethods()).isEmpty()
            && orEmpty(operation.getNotMethods()).isEmpty())) {
      errors.add(
          at,
          "names no ports, paths or methods (nor their not-lists); to match any operation, leave"
              + " to out");
      return new AuthorizationRules.Operation(
          List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    }
    return new AuthorizationRules.Operation(
        ports(at + ".ports", operation.getPorts(), errors),
        ports(at + ".notPorts", operation.getNotPorts(), errors),
        wildcards(
            at + ".paths",
            operation.getPaths(),
            AuthorizationPolicyChecks::isPath,
            "a path starting with '/' (a gRPC method is /<package>.<Service>/<Method>)",
            errors),
        wildcards(
            at + ".notPaths",
            operation.getNotPaths(),
            AuthorizationPolicyChecks::isPath,
            "a path starting with '/' (a gRPC method is /<package>.<Service>/<Method>)",
            errors),
        methods(at + ".methods", operation.getMethods(), errors),
        methods(at + ".notMethods", operation.getNotMethods(), errors));
  }

  private static boolean isPath(Wildcard wildcard) {
    boolean rooted =
        wildcard.kind() == Wildcard.Kind.SUFFIX
            || wildcard.kind() == Wildcard.Kind.ANY
            || wildcard.text().startsWith("/");
    return rooted && PATH.matcher(wildcard.text()).matches();
  }

  private static List<Integer> ports(String path, List<Integer> ports, FieldErrors errors) {
    List<Integer> parsed = new ArrayList<>();
    for (int i = 0; i < orEmpty(ports).size(); i++) {
      String at = FieldErrors.indexed(path, i);
      Integer port = ports.get(i);
      if (!errors.checkPresent(at, port)) {
        continue;
      }
      if (port < 1 || port > 65535) {
        errors.add(at, port + " is not a port (1 to 65535)");
      } else {
        parsed.add(port);
      }
    }
    return parsed;
  }

  private static List<String> methods(String path, List<String> methods, FieldErrors errors) {
    List<String> parsed = new ArrayList<>();
    for (int i = 0; i < orEmpty(methods).size(); i++) {
      String at = FieldErrors.indexed(path, i);
      String method = methods.get(i);
      if (!errors.checkPresent(at, method)) {
        continue;
      }
      if (!METHOD.matcher(method).matches()) {
        errors.add(at, "\"" + method + "\" is not an HTTP method in capitals, such as GET or POST");
      } else {
        parsed.add(method);
      }
    }
    return parsed;
  }

  private static AuthorizationRules.HeaderCondition condition(
      String at, AuthorizationPolicySpec.Condition condition, FieldErrors errors) {
    if (condition == null) {
      errors.add(at, "required");
      return new AuthorizationRules.HeaderCondition("", List.of(), List.of());
    }
    String header = condition.getHeader();
    if (header == null || header.isEmpty()) {
      errors.add(at + ".header", "required");
      header = "";
    } else if (!PolicyFields.TOKEN.matcher(header).matches()) {
      errors.add(at + ".header", "\"" + header + "\" is not a header name");
    }
    if (orEmpty(condition.getValues()).isEmpty() && orEmpty(condition.getNotValues()).isEmpty()) {
      errors.add(at, "gives no values or notValues; '*' matches any value");
    }
    Predicate<Wildcard> anyText = wildcard -> true;
    return new AuthorizationRules.HeaderCondition(
        header.toLowerCase(Locale.ROOT),
        wildcards(at + ".values", condition.getValues(), anyText, "", errors),
        wildcards(at + ".notValues", condition.getNotValues(), anyText, "", errors));
  }

  /** Parses each pattern; {@code what} says what a valid one is, for the error. */
  private static List<Wildcard> wildcards(
      String path,
      List<String> patterns,
      Predicate<Wildcard> valid,
      String what,
      FieldErrors errors) {
    List<Wildcard> parsed = new ArrayList<>();
    for (int i = 0; i < orEmpty(patterns).size(); i++) {
      String at = FieldErrors.indexed(path, i);
      String pattern = patterns.get(i);
      if (pattern == null || pattern.isEmpty()) {
        errors.add(at, "must not be empty");
        continue;
      }
      Wildcard wildcard = Wildcard.parse(pattern);
      if (wildcard == null) {
        errors.add(at, "\"" + pattern + "\" has a '*' that is not at its start or end");
      } else if (!valid.test(wildcard)) {
        errors.add(at, "\"" + pattern + "\" is not " + what);
      } else {
        parsed.add(wildcard);
      }
    }
    return parsed;
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
