package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The rules {@code weft check} asks the API server about are exactly those of the chart's
 * ClusterRole and Role, rendered with the default values by {@code helm template} (in-process,
 * helm-java): a rule added to the chart and not to the check, or the reverse, fails here.
 */
class WeftPermissionsTest {

  private static final Path CHART = Path.of(System.getProperty("weft.chart", "../helm/weft"));
  private static final String NAMESPACE = "weft-system";

  @Test
  void theCheckAsksForExactlyTheRulesTheChartGrants() {
    assertThat(asked("weft-ca")).containsExactlyElementsOf(granted(true));
  }

  @Test
  void withoutTheCaNeitherAsksForItsSecretNorForTheTrustBundle() {
    assertThat(asked("")).containsExactlyElementsOf(granted(false));
  }

  /** The chart's ClusterRole and Role rules, one per verb, group, resource and name. */
  private static Set<String> granted(boolean ca) {
    String yaml =
        new Helm(CHART)
            .template()
            .withName("weft")
            .withNamespace(NAMESPACE)
            // helm-java's default (1.20) is below the chart's kubeVersion.
            .withKubeVersion("v1.30.0")
            .set("ca.enabled", String.valueOf(ca))
            // The chart refuses ca.enabled=false without plaintext xDS, the only xDS port left.
            .set("xds.plaintext", String.valueOf(!ca))
            // The validating webhook's certificate comes from the CA.
            .set("validation.enabled", String.valueOf(ca))
            .call();
    Set<String> granted = new TreeSet<>();
    for (HasMetadata object : objects(yaml)) {
      if (object instanceof ClusterRole role) {
        role.getRules().forEach(rule -> expand(rule, "", granted));
      } else if (object instanceof Role role) {
        role.getRules().forEach(rule -> expand(rule, role.getMetadata().getNamespace(), granted));
      }
    }
    assertThat(granted).isNotEmpty();
    return granted;
  }

  private static Set<String> asked(String caSecret) {
    Set<String> asked = new TreeSet<>();
    for (WeftPermissions.Permission permission :
        WeftPermissions.needed(
            NAMESPACE,
            "weft-leader",
            caSecret,
            "weft-ca-root-cert",
            caSecret.isEmpty() ? "" : "weft-validator")) {
      asked.add(
          key(
              permission.verb(),
              permission.group(),
              permission.subresource().isEmpty()
                  ? permission.resource()
                  : permission.resource() + "/" + permission.subresource(),
              permission.name(),
              permission.namespace()));
    }
    return asked;
  }

  @Test
  void aPermissionReadsAsKubectlWouldSayIt() {
    List<String> described =
        WeftPermissions.needed(
                NAMESPACE, "weft-leader", "weft-ca", "weft-ca-root-cert", "weft-validator")
            .stream()
            .map(WeftPermissions.Permission::describe)
            .toList();

    assertThat(described)
        .contains(
            "list services in every namespace",
            "update httproutes.gateway.networking.k8s.io/status in every namespace",
            "get leases.coordination.k8s.io named weft-leader in namespace weft-system",
            "create tokenreviews.authentication.k8s.io in every namespace",
            "patch validatingwebhookconfigurations.admissionregistration.k8s.io named"
                + " weft-validator in every namespace");
  }

  private static void expand(PolicyRule rule, String namespace, Set<String> into) {
    List<String> names =
        rule.getResourceNames() == null || rule.getResourceNames().isEmpty()
            ? List.of("")
            : rule.getResourceNames();
    for (String group : rule.getApiGroups()) {
      for (String resource : rule.getResources()) {
        for (String verb : rule.getVerbs()) {
          for (String name : names) {
            into.add(key(verb, group, resource, name, namespace));
          }
        }
      }
    }
  }

  private static String key(
      String verb, String group, String resource, String name, String namespace) {
    return verb + " " + group + "/" + resource + " name=" + name + " namespace=" + namespace;
  }

  private static List<HasMetadata> objects(String yaml) {
    Object parsed = new KubernetesSerialization().unmarshal(yaml);
    List<HasMetadata> objects = new ArrayList<>();
    if (parsed instanceof List<?> list) {
      for (Object object : list) {
        if (object instanceof HasMetadata metadata) {
          objects.add(metadata);
        }
      }
    }
    return objects;
  }
}
