package dev.weft.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * What Weft's ServiceAccount must be allowed to do with the chart's default values (no Gateways, no
 * injection, the CA and the validating webhook on): the rules of helm/weft's ClusterRole and Role,
 * one request each. WeftPermissionsTest renders the chart and compares, so that the two cannot
 * drift apart.
 */
final class WeftPermissions {

  /**
   * One request Weft makes.
   *
   * @param verb e.g. {@code list}
   * @param group the API group; empty for the core group
   * @param resource the plural, e.g. {@code httproutes}
   * @param subresource e.g. {@code status}; empty for none
   * @param name the one object a rule is restricted to; empty for any
   * @param namespace where: empty for every namespace (a ClusterRole's rule), else the control
   *     plane's namespace (its Role's)
   */
  record Permission(
      String verb,
      String group,
      String resource,
      String subresource,
      String name,
      String namespace) {

    /** As a user reads it: {@code update httproutes.gateway.networking.k8s.io/status}. */
    String describe() {
      StringBuilder text = new StringBuilder(verb).append(' ').append(resource);
      if (!group.isEmpty()) {
        text.append('.').append(group);
      }
      if (!subresource.isEmpty()) {
        text.append('/').append(subresource);
      }
      if (!name.isEmpty()) {
        text.append(" named ").append(name);
      }
      text.append(namespace.isEmpty() ? " in every namespace" : " in namespace " + namespace);
      return text.toString();
    }
  }

  private WeftPermissions() {}

  /**
   * @param namespace the control plane's namespace (its leader Lease and CA Secret are there)
   * @param lease the leader Lease's name
   * @param caSecret the Secret that holds the CA's key material; empty when the CA is off
   * @param trustBundleConfigMap the ConfigMap the leader publishes the trust bundle in (with the
   *     CA); empty when it publishes none
   * @param validatingWebhookConfiguration the validating webhook's configuration, whose caBundle
   *     the leader keeps; empty when the webhook is off
   */
  static List<Permission> needed(
      String namespace,
      String lease,
      String caSecret,
      String trustBundleConfigMap,
      String validatingWebhookConfiguration) {
    List<Permission> needed = new ArrayList<>();
    // The registry's informers.
    everywhere(needed, "", "services", "", List.of("list", "watch"));
    everywhere(needed, "", "pods", "", List.of("list", "watch"));
    everywhere(needed, "", "namespaces", "", List.of("list", "watch"));
    everywhere(needed, "discovery.k8s.io", "endpointslices", "", List.of("list", "watch"));
    // Routes and policies, and their status, which the leader writes.
    for (String crd : CheckCommand.CRDS) {
      String resource = crd.substring(0, crd.indexOf('.'));
      String group = crd.substring(crd.indexOf('.') + 1);
      everywhere(needed, group, resource, "", List.of("get", "list", "watch"));
      everywhere(needed, group, resource, "status", List.of("update"));
    }
    // The CA authenticates workloads, and the debug API its readers, by their tokens.
    everywhere(needed, "authentication.k8s.io", "tokenreviews", "", List.of("create"));
    if (!caSecret.isEmpty() && !trustBundleConfigMap.isEmpty()) {
      // The leader publishes the trust bundle in every mesh namespace.
      everywhere(needed, "", "configmaps", "", List.of("create"));
      for (String verb : List.of("get", "list", "watch", "update")) {
        needed.add(new Permission(verb, "", "configmaps", "", trustBundleConfigMap, ""));
      }
    }
    // Leader election.
    needed.add(new Permission("create", "coordination.k8s.io", "leases", "", "", namespace));
    for (String verb : List.of("get", "update", "patch")) {
      needed.add(new Permission(verb, "coordination.k8s.io", "leases", "", lease, namespace));
    }
    // Each replica's own Lease, and the others' (rollout status counts every replica's proxies).
    for (String verb : List.of("get", "list", "update", "delete")) {
      needed.add(new Permission(verb, "coordination.k8s.io", "leases", "", "", namespace));
    }
    if (!caSecret.isEmpty()) {
      // The CA's key material.
      needed.add(new Permission("create", "", "secrets", "", "", namespace));
      for (String verb : List.of("get", "update")) {
        needed.add(new Permission(verb, "", "secrets", "", caSecret, namespace));
      }
    }
    if (!validatingWebhookConfiguration.isEmpty()) {
      // The leader keeps the trust bundle in the validating webhook's caBundle.
      for (String verb : List.of("list", "watch", "patch")) {
        needed.add(
            new Permission(
                verb,
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
                "",
                validatingWebhookConfiguration,
                ""));
      }
    }
    return List.copyOf(needed);
  }

  private static void everywhere(
      List<Permission> needed,
      String group,
      String resource,
      String subresource,
      List<String> verbs) {
    for (String verb : verbs) {
      needed.add(new Permission(verb, group, resource, subresource, "", ""));
    }
  }
}
