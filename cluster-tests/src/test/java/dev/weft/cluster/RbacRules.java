package dev.weft.cluster;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the chart's RBAC lets Weft's ServiceAccount do, decided the way the API server's RBAC
 * authorizer decides: only rules reachable through a binding of that ServiceAccount count;
 * ClusterRoleBinding rules apply in every namespace and to cluster-scoped resources, RoleBinding
 * rules only in the binding's namespace. Verbs, groups and resources match exactly (the chart uses
 * no wildcards, and {@link #wildcards()} says so).
 */
final class RbacRules {

  /**
   * A rule and where it applies: everywhere, or in one namespace (null: the namespace the release
   * is installed into, for a binding that names none).
   */
  private record Grant(boolean clusterWide, String namespace, PolicyRule rule) {}

  private final List<Grant> grants;
  private final Map<String, List<PolicyRule>> everyRole;

  private RbacRules(List<Grant> grants, Map<String, List<PolicyRule>> everyRole) {
    this.grants = grants;
    this.everyRole = everyRole;
  }

  /** The rules bound to the ServiceAccount the chart's Deployment runs as. */
  static RbacRules of(RenderedChart chart) {
    String account = chart.deployment().getSpec().getTemplate().getSpec().getServiceAccountName();
    List<Grant> grants = new ArrayList<>();
    for (ClusterRoleBinding binding : chart.all(ClusterRoleBinding.class)) {
      if (binds(binding.getSubjects(), account, chart.namespace)) {
        rules(chart, binding.getRoleRef(), null).forEach(r -> grants.add(new Grant(true, null, r)));
      }
    }
    for (RoleBinding binding : chart.all(RoleBinding.class)) {
      String namespace = binding.getMetadata().getNamespace();
      if (binds(binding.getSubjects(), account, chart.namespace)) {
        rules(chart, binding.getRoleRef(), binding)
            .forEach(r -> grants.add(new Grant(false, namespace, r)));
      }
    }
    Map<String, List<PolicyRule>> everyRole = new LinkedHashMap<>();
    chart.all(ClusterRole.class).forEach(r -> everyRole.put(label(r), rulesOf(r.getRules())));
    chart.all(Role.class).forEach(r -> everyRole.put(label(r), rulesOf(r.getRules())));
    return new RbacRules(List.copyOf(grants), everyRole);
  }

  /**
   * Whether the ServiceAccount may make the request. Objects without a namespace of their own are
   * installed into {@code releaseNamespace}, as Helm does.
   */
  boolean allows(ApiRequest request, String releaseNamespace) {
    for (Grant grant : grants) {
      String where = grant.namespace() != null ? grant.namespace() : releaseNamespace;
      if (!grant.clusterWide() && !where.equals(request.namespace())) {
        continue;
      }
      if (request.isResourceRequest()
          ? matches(grant.rule(), request)
          : matchesUrl(grant, request)) {
        return true;
      }
    }
    return false;
  }

  /** Every wildcard ("*" anywhere) in any Role or ClusterRole of the chart, bound or not. */
  List<String> wildcards() {
    List<String> found = new ArrayList<>();
    everyRole.forEach(
        (role, rules) -> {
          for (int i = 0; i < rules.size(); i++) {
            PolicyRule rule = rules.get(i);
            String where = role + " rule " + i;
            collect(found, where, "apiGroups", rule.getApiGroups());
            collect(found, where, "resources", rule.getResources());
            collect(found, where, "verbs", rule.getVerbs());
            collect(found, where, "resourceNames", rule.getResourceNames());
            collect(found, where, "nonResourceURLs", rule.getNonResourceURLs());
          }
        });
    return found;
  }

  private static boolean matches(PolicyRule rule, ApiRequest request) {
    return contains(rule.getVerbs(), request.verb())
        && contains(rule.getApiGroups(), request.apiGroup())
        && contains(rule.getResources(), request.resource())
        // As in Kubernetes: a rule that names objects never covers a request without a name
        // (list, create), which is why create is a rule of its own.
        && (empty(rule.getResourceNames())
            || (request.name() != null && rule.getResourceNames().contains(request.name())));
  }

  /** Non-resource URLs are granted only cluster-wide. */
  private static boolean matchesUrl(Grant grant, ApiRequest request) {
    return grant.clusterWide()
        && contains(grant.rule().getVerbs(), request.verb())
        && contains(grant.rule().getNonResourceURLs(), request.nonResourcePath());
  }

  private static boolean binds(List<Subject> subjects, String account, String releaseNamespace) {
    if (subjects == null) {
      return false;
    }
    return subjects.stream()
        .anyMatch(
            s ->
                "ServiceAccount".equals(s.getKind())
                    && account.equals(s.getName())
                    && releaseNamespace.equals(s.getNamespace()));
  }

  /**
   * The rules a binding refers to: a ClusterRole, or (from a RoleBinding only) a Role in the
   * binding's namespace. A reference to a role the chart does not hold grants nothing.
   */
  private static List<PolicyRule> rules(RenderedChart chart, RoleRef ref, RoleBinding binding) {
    if ("ClusterRole".equals(ref.getKind())) {
      return chart
          .find(ClusterRole.class, ref.getName())
          .map(r -> rulesOf(r.getRules()))
          .orElse(List.of());
    }
    if ("Role".equals(ref.getKind()) && binding != null) {
      String namespace = binding.getMetadata().getNamespace();
      return chart.all(Role.class).stream()
          .filter(r -> ref.getName().equals(r.getMetadata().getName()))
          .filter(r -> Objects.equals(namespace, r.getMetadata().getNamespace()))
          .findFirst()
          .map(r -> rulesOf(r.getRules()))
          .orElse(List.of());
    }
    return List.of();
  }

  private static String label(HasMetadata role) {
    return role.getKind() + " " + role.getMetadata().getName();
  }

  private static List<PolicyRule> rulesOf(List<PolicyRule> rules) {
    return rules == null ? List.of() : rules;
  }

  private static boolean contains(List<String> values, String value) {
    return values != null && value != null && values.contains(value);
  }

  private static boolean empty(List<String> values) {
    return values == null || values.isEmpty();
  }

  private static void collect(List<String> found, String where, String field, List<String> values) {
    if (values == null) {
      return;
    }
    for (String value : values) {
      if (value.contains("*")) {
        found.add(where + " " + field + ": " + value);
      }
    }
  }
}
