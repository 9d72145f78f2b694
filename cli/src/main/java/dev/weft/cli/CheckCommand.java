package dev.weft.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * {@code weft check}: checks an install, grouped as {@code linkerd check} does; each failure says
 * what it found and a hint. Checks that need the API server are skipped when it cannot be reached.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description =
        "Checks an install: the API server, Weft's CRDs, the control plane's Deployment, its"
            + " leader Lease, what its ServiceAccount may do, the CA root's validity, its health"
            + " and whether every proxy is in sync; each failure with a hint.")
final class CheckCommand implements Callable<Integer> {

  /** The CRDs Weft reads: the Gateway API's routes and Weft's own policies. */
  static final List<String> CRDS =
      List.of(
          "httproutes.gateway.networking.k8s.io",
          "grpcroutes.gateway.networking.k8s.io",
          "authorizationpolicies.mesh.weft.dev",
          "faultpolicies.mesh.weft.dev",
          "meshtlspolicies.mesh.weft.dev",
          "ratelimitpolicies.mesh.weft.dev",
          "telemetries.mesh.weft.dev",
          "trafficpolicies.mesh.weft.dev");

  /** The key of the trust bundle in the ConfigMap the leader publishes. */
  private static final String CA_KEY = "ca.crt";

  /** How many proxies out of sync a failure names; the rest are counted. */
  private static final int LISTED_PROXIES = 5;

  @Option(
      names = "--control-plane-namespace",
      defaultValue = "weft-system",
      description = "Where Weft is installed (default ${DEFAULT-VALUE}).")
  String controlPlaneNamespace;

  @Option(
      names = "--deployment",
      defaultValue = "weft",
      description = "The control plane's Deployment (default ${DEFAULT-VALUE}).")
  String deployment;

  @Option(
      names = "--lease",
      defaultValue = "weft-leader",
      description = "The leader election Lease (default ${DEFAULT-VALUE}).")
  String lease;

  @Option(
      names = "--service-account",
      defaultValue = "weft",
      description =
          "The control plane's ServiceAccount, in --control-plane-namespace (default"
              + " ${DEFAULT-VALUE}).")
  String serviceAccount;

  @Option(
      names = "--ca-secret",
      defaultValue = "weft-ca",
      description =
          "The Secret of the CA's key material (default ${DEFAULT-VALUE}); empty for an install"
              + " without the CA (ca.enabled=false): its rules and root are not checked.")
  String caSecret;

  @Option(
      names = "--trust-bundle-config-map",
      defaultValue = "weft-ca-root-cert",
      description =
          "The ConfigMap (key ca.crt) the leader publishes the CA's trust bundle in (default"
              + " ${DEFAULT-VALUE}; empty: read it from Weft's /debug/ca only).")
  String trustBundleConfigMap;

  @Option(
      names = "--validating-webhook-configuration",
      defaultValue = "weft-validator",
      description =
          "The ValidatingWebhookConfiguration whose caBundle the leader keeps (default"
              + " ${DEFAULT-VALUE}; empty: the validating webhook is off).")
  String validatingWebhookConfiguration;

  @Option(
      names = "--root-expiry-warning",
      defaultValue = "30d",
      converter = Durations.class,
      description =
          "Fail when a CA root expires within this and no newer root is in the trust bundle"
              + " (default ${DEFAULT-VALUE}).")
  Duration rootExpiryWarning;

  @Option(
      names = "--stale-after",
      defaultValue = ProxySync.DEFAULT_STALE_AFTER,
      converter = Durations.class,
      description =
          "How long a proxy may lack configuration before it counts as out of sync (default"
              + " ${DEFAULT-VALUE}, the server's weft.xds.stale-after).")
  Duration staleAfter;

  @Option(
      names = "--health",
      description =
          "The control plane's health URL (default: --server's host on port 15014,"
              + " /actuator/health; kubectl -n weft-system port-forward svc/weft 8080 15014).")
  URI health;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  private PrintWriter out;
  private int failures;
  private int checks;

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    try (KubernetesClient client = cli.kubernetes()) {
      group("kubernetes-api");
      Set<String> crds = crds(client);
      if (crds != null) {
        group("weft-crds");
        for (String crd : CRDS) {
          boolean gateway = crd.endsWith(".gateway.networking.k8s.io");
          check(
              "CRD " + crd + " is installed",
              crds.contains(crd) ? null : "not found",
              gateway
                  ? "install the Gateway API's standard CRDs (docs/install.md)"
                  : "install Weft's CRDs: helm upgrade --install weft helm/weft -n "
                      + controlPlaneNamespace
                      + " (they are in helm/weft/crds)");
        }
        group("weft-control-plane");
        deployment(client);
        lease(client);
        group("weft-rbac");
        rbac(client);
      }
      if (!caSecret.isEmpty()) {
        group("weft-ca");
        caRoot(crds != null ? client : null);
      }
    }
    group("weft-health");
    health();
    group("weft-proxies");
    proxies();
    out.println();
    out.println("Status check results are " + (failures == 0 ? "√" : "×"));
    out.flush();
    if (failures > 0) {
      throw new CliException(failures + " of " + checks + " checks failed; see the hints above");
    }
    return 0;
  }

  /** The names of the CRDs installed; null (and a failure) when the API server cannot answer. */
  private Set<String> crds(KubernetesClient client) {
    try {
      Set<String> names = new TreeSet<>();
      for (CustomResourceDefinition crd :
          client.apiextensions().v1().customResourceDefinitions().list().getItems()) {
        names.add(crd.getMetadata().getName());
      }
      check("can reach the Kubernetes API server", null, "");
      return names;
    } catch (KubernetesClientException e) {
      check(
          "can reach the Kubernetes API server",
          Kube.describe(e),
          "kubectl cluster-info says which server the kubeconfig points at; the checks that need"
              + " it are skipped");
      return null;
    }
  }

  private void deployment(KubernetesClient client) {
    String name = "Deployment " + controlPlaneNamespace + "/" + deployment;
    Deployment found;
    try {
      found =
          client.apps().deployments().inNamespace(controlPlaneNamespace).withName(deployment).get();
    } catch (KubernetesClientException e) {
      check(name + " is ready", Kube.describe(e), "use a --context that may read Deployments");
      return;
    }
    if (found == null) {
      check(
          name + " is ready",
          "not found",
          "install Weft (docs/install.md), or pass --control-plane-namespace and --deployment");
      return;
    }
    int wanted =
        found.getSpec() == null || found.getSpec().getReplicas() == null
            ? 1
            : found.getSpec().getReplicas();
    int ready =
        found.getStatus() == null || found.getStatus().getReadyReplicas() == null
            ? 0
            : found.getStatus().getReadyReplicas();
    check(
        name + " is ready (" + ready + " of " + wanted + " replicas)",
        ready >= wanted && wanted > 0 ? null : ready + " of " + wanted + " replicas are ready",
        "kubectl -n "
            + controlPlaneNamespace
            + " describe deployment "
            + deployment
            + "; kubectl -n "
            + controlPlaneNamespace
            + " logs deploy/"
            + deployment);
  }

  private void lease(KubernetesClient client) {
    String name = "leader Lease " + controlPlaneNamespace + "/" + lease;
    String hint =
        "without a leader no route status is written and the CA root is not rotated; kubectl -n "
            + controlPlaneNamespace
            + " logs deploy/"
            + deployment;
    Lease found;
    try {
      found = client.leases().inNamespace(controlPlaneNamespace).withName(lease).get();
    } catch (KubernetesClientException e) {
      check(name + " is held", Kube.describe(e), "use a --context that may read Leases");
      return;
    }
    if (found == null || found.getSpec() == null) {
      check(name + " is held", "not found: no replica has led yet", hint);
      return;
    }
    String holder = found.getSpec().getHolderIdentity();
    if (holder == null || holder.isEmpty()) {
      check(name + " is held", "no holder", hint);
      return;
    }
    Instant renewed = renewTime(found);
    int durationSeconds =
        found.getSpec().getLeaseDurationSeconds() == null
            ? 15
            : found.getSpec().getLeaseDurationSeconds();
    if (renewed == null) {
      check(name + " is held by " + holder, "it has no renewTime", hint);
      return;
    }
    Duration age = Duration.between(renewed, cli.clock.instant());
    check(
        name + " is held by " + holder + " (renewed " + Durations.age(age) + " ago)",
        age.getSeconds() <= durationSeconds
            ? null
            : "not renewed for "
                + Durations.age(age)
                + ", longer than its "
                + durationSeconds
                + "s duration: the leader is gone",
        hint);
  }

  private static Instant renewTime(Lease lease) {
    return lease.getSpec().getRenewTime() == null
        ? null
        : lease.getSpec().getRenewTime().toInstant();
  }

  private void health() {
    URI uri =
        health != null
            ? health
            : URI.create(
                cli.server.getScheme() + "://" + cli.server.getHost() + ":15014/actuator/health");
    String what = "control plane health " + uri + " is UP";
    String hint =
        "kubectl -n "
            + controlPlaneNamespace
            + " port-forward svc/weft 8080 15014, or pass --health URL";
    HttpResponse<String> response;
    try {
      response =
          HttpClient.newBuilder()
              .connectTimeout(cli.requestTimeout)
              .build()
              .send(
                  HttpRequest.newBuilder(uri).timeout(cli.requestTimeout).GET().build(),
                  HttpResponse.BodyHandlers.ofString());
    } catch (IOException | IllegalArgumentException e) {
      check(what, "cannot reach it (" + e.getClass().getSimpleName() + ")", hint);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
    String status;
    try {
      JsonNode body = WeftApi.JSON.readTree(response.body());
      status = body.path("status").asString("");
    } catch (JacksonException e) {
      status = "";
    }
    check(
        what,
        status.equals("UP")
            ? null
            : "it says " + (status.isEmpty() ? "HTTP " + response.statusCode() : status),
        "kubectl -n "
            + controlPlaneNamespace
            + " logs deploy/"
            + deployment
            + " says why; "
            + uri
            + " lists each component");
  }

  /**
   * Asks the API server, one SubjectAccessReview per request Weft makes, whether the control
   * plane's ServiceAccount may make it; every denied one is listed.
   */
  private void rbac(KubernetesClient client) {
    String account = controlPlaneNamespace + "/" + serviceAccount;
    List<WeftPermissions.Permission> needed =
        WeftPermissions.needed(
            controlPlaneNamespace,
            lease,
            caSecret,
            trustBundleConfigMap,
            caSecret.isEmpty() ? "" : validatingWebhookConfiguration);
    String what =
        "ServiceAccount " + account + " may do what Weft needs (" + needed.size() + " rules)";
    List<String> denied = new ArrayList<>();
    for (WeftPermissions.Permission permission : needed) {
      SubjectAccessReview answer;
      try {
        answer = client.authorization().v1().subjectAccessReview().create(review(permission));
      } catch (KubernetesClientException e) {
        check(
            what,
            "cannot ask the API server: " + Kube.describe(e),
            "weft check needs create on subjectaccessreviews.authorization.k8s.io (kubectl auth"
                + " can-i create subjectaccessreviews)");
        return;
      }
      if (answer == null || answer.getStatus() == null) {
        check(
            what,
            "the API server did not answer the SubjectAccessReview for " + permission.describe(),
            "kubectl auth can-i "
                + permission.verb()
                + " "
                + permission.resource()
                + " --as=system:serviceaccount:"
                + controlPlaneNamespace
                + ":"
                + serviceAccount
                + " asks the same");
        return;
      }
      if (!Boolean.TRUE.equals(answer.getStatus().getAllowed())) {
        String reason = answer.getStatus().getReason();
        denied.add(
            "denied: "
                + permission.describe()
                + (reason == null || reason.isBlank() ? "" : " (" + reason.strip() + ")"));
      }
    }
    check(
        what,
        denied.isEmpty() ? null : String.join("\n", denied),
        "helm upgrade weft helm/weft -n "
            + controlPlaneNamespace
            + " restores the chart's ClusterRole and Role; with rbac.create=false grant these"
            + " rules yourself (docs/install.md lists them), or pass --service-account");
  }

  private SubjectAccessReview review(WeftPermissions.Permission permission) {
    return new SubjectAccessReviewBuilder()
        .withNewSpec()
        .withUser("system:serviceaccount:" + controlPlaneNamespace + ":" + serviceAccount)
        // The groups the API server gives every ServiceAccount token, which bindings may name.
        .withGroups(
            "system:serviceaccounts",
            "system:serviceaccounts:" + controlPlaneNamespace,
            "system:authenticated")
        .withNewResourceAttributes()
        .withVerb(permission.verb())
        .withGroup(permission.group())
        .withResource(permission.resource())
        .withSubresource(emptyToNull(permission.subresource()))
        .withName(emptyToNull(permission.name()))
        .withNamespace(emptyToNull(permission.namespace()))
        .endResourceAttributes()
        .endSpec()
        .build();
  }

  private static String emptyToNull(String text) {
    return text.isEmpty() ? null : text;
  }

  /**
   * The CA's trust bundle, from the ConfigMap the leader publishes (else Weft's {@code /debug/ca}):
   * every root in it valid now, and not about to expire without a newer one beside it.
   *
   * @param client null when the API server cannot be reached: the bundle then comes from Weft
   */
  private void caRoot(KubernetesClient client) {
    String where = null;
    String pem = null;
    String configMapProblem = "";
    if (client != null && !trustBundleConfigMap.isEmpty()) {
      String name = "ConfigMap " + controlPlaneNamespace + "/" + trustBundleConfigMap;
      try {
        ConfigMap found =
            client
                .configMaps()
                .inNamespace(controlPlaneNamespace)
                .withName(trustBundleConfigMap)
                .get();
        if (found != null && found.getData() != null && found.getData().get(CA_KEY) != null) {
          where = name;
          pem = found.getData().get(CA_KEY);
        } else {
          configMapProblem = name + (found == null ? " not found" : " has no " + CA_KEY) + "; ";
        }
      } catch (KubernetesClientException e) {
        configMapProblem = name + ": " + Kube.describe(e) + "; ";
      }
    }
    if (pem == null) {
      try {
        pem = cli.api().get("/debug/ca").path("trustBundlePem").asString();
        where = cli.server.resolve("/debug/ca").toString();
      } catch (CliException e) {
        check(
            "the CA's trust bundle can be read",
            configMapProblem + "Weft's /debug/ca: " + e.getMessage(),
            "the leader publishes the bundle once the CA is loaded (kubectl -n "
                + controlPlaneNamespace
                + " logs deploy/"
                + deployment
                + "); pass --trust-bundle-config-map if ca.trustBundleConfigMap is another name");
        return;
      }
    }
    List<X509Certificate> roots = new ArrayList<>();
    try {
      for (Certificate certificate :
          CertificateFactory.getInstance("X.509")
              .generateCertificates(
                  new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        roots.add((X509Certificate) certificate);
      }
    } catch (CertificateException e) {
      check(
          "the CA's trust bundle in " + where + " parses",
          "not PEM X.509 certificates: " + e.getMessage(),
          "the leader rewrites an edited ConfigMap within a minute; kubectl -n "
              + controlPlaneNamespace
              + " logs deploy/"
              + deployment);
      return;
    }
    if (roots.isEmpty()) {
      check(
          "the CA's trust bundle in " + where + " holds a root",
          "it holds no certificate",
          "the leader rewrites an edited ConfigMap within a minute; kubectl -n "
              + controlPlaneNamespace
              + " logs deploy/"
              + deployment);
      return;
    }
    Instant now = cli.clock.instant();
    Instant horizon = now.plus(rootExpiryWarning);
    String hint =
        "the leader starts a new root at two thirds of the root's life and retires the old one"
            + " (docs/operations.md, Certificate authority): check that a leader exists and kubectl"
            + " -n "
            + controlPlaneNamespace
            + " logs deploy/"
            + deployment
            + " | grep -i root";
    for (X509Certificate root : roots) {
      Instant notBefore = root.getNotBefore().toInstant();
      Instant notAfter = root.getNotAfter().toInstant();
      String what =
          "CA root "
              + root.getSubjectX500Principal().getName()
              + " in "
              + where
              + " is valid until "
              + notAfter;
      String problem = null;
      if (now.isBefore(notBefore)) {
        problem =
            "not valid before "
                + notBefore
                + ": this machine's clock or the CA's is wrong (now "
                + now
                + ")";
      } else if (!now.isBefore(notAfter)) {
        problem =
            "expired "
                + Durations.age(Duration.between(notAfter, now))
                + " ago: workloads no longer trust certificates it signed";
      } else if (notAfter.isBefore(horizon)) {
        boolean successor =
            roots.stream().anyMatch(other -> other.getNotAfter().toInstant().isAfter(horizon));
        if (successor) {
          what += "; a newer root follows it (a rotation is under way)";
        } else {
          problem =
              "expires in "
                  + Durations.age(Duration.between(now, notAfter))
                  + ", within --root-expiry-warning "
                  + Durations.age(rootExpiryWarning)
                  + ", and no newer root is in the bundle";
        }
      }
      check(what, problem, hint);
    }
  }

  /**
   * Every proxy holds its configuration, per Weft's {@code /debug/proxies}: none rejected its
   * latest version, none has lacked configuration for longer than {@code --stale-after}.
   */
  private void proxies() {
    JsonNode proxies;
    try {
      proxies = cli.api().get("/debug/proxies");
    } catch (CliException e) {
      check(
          "the proxies are in sync",
          e.getMessage(),
          "weft proxy-status reads the same API; pass --server and --token as for it");
      return;
    }
    Instant now = cli.clock.instant();
    List<String> nacked = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    int total = 0;
    for (JsonNode proxy : proxies) {
      total++;
      String name =
          proxy.path("nodeId").asString().isEmpty()
              ? "stream " + proxy.path("stream").asString()
              : proxy.path("nodeId").asString();
      if (ProxySync.nacked(proxy, now, staleAfter)) {
        nacked.add(name + " (NACKED)");
      } else if (ProxySync.stale(proxy, now, staleAfter)) {
        stale.add(
            name
                + " (STALE for "
                + Durations.age(Duration.between(ProxySync.behindSince(proxy), now))
                + ")");
      }
    }
    List<String> behind = new ArrayList<>();
    nacked.stream().sorted().forEach(behind::add);
    stale.stream().sorted().forEach(behind::add);
    String problem = null;
    if (!behind.isEmpty()) {
      String listed = String.join(", ", behind.subList(0, Math.min(LISTED_PROXIES, behind.size())));
      int rest = behind.size() - LISTED_PROXIES;
      problem =
          behind.size()
              + " of "
              + total
              + " proxies do not hold their latest configuration: "
              + listed
              + (rest > 0 ? " and " + rest + " more" : "");
    }
    check(
        "the proxies are in sync ("
            + total
            + " connected; none NACKED or behind for over "
            + Durations.age(staleAfter)
            + ")",
        problem,
        "weft proxy-status shows each type's state and the error of a NACK; config-dump PROXY"
            + " what it holds");
  }

  private void group(String name) {
    if (checks > 0) {
      out.println();
    }
    out.println(name);
    out.println("-".repeat(name.length()));
  }

  /**
   * Prints one check: passed when {@code problem} is null, else failed with it (one line or
   * several) and the hint.
   */
  private void check(String what, String problem, String hint) {
    checks++;
    if (problem == null) {
      out.println("√ " + what);
      return;
    }
    failures++;
    out.println("× " + what);
    problem.lines().forEach(line -> out.println("    " + line));
    out.println("    hint: " + hint);
  }
}
