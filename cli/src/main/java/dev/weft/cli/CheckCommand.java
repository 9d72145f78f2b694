package dev.weft.cli;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
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
            + " leader Lease and its health; each failure with a hint.")
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
      }
    }
    group("weft-health");
    health();
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

  private void group(String name) {
    if (checks > 0) {
      out.println();
    }
    out.println(name);
    out.println("-".repeat(name.length()));
  }

  /** Prints one check: passed when {@code problem} is null, else failed with it and the hint. */
  private void check(String what, String problem, String hint) {
    checks++;
    if (problem == null) {
      out.println("√ " + what);
      return;
    }
    failures++;
    out.println("× " + what);
    out.println("    " + problem);
    out.println("    hint: " + hint);
  }
}
