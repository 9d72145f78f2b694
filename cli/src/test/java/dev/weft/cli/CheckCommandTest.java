package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code weft check} against a healthy and a broken install on Fabric8's mock API server. */
@EnableKubernetesMockClient(crud = true)
class CheckCommandTest {

  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

  static KubernetesMockServer server;
  static KubernetesClient client;

  @TempDir Path dir;
  private Path kubeconfig;
  private HttpServer health;
  private final AtomicReference<String> healthBody = new AtomicReference<>("{\"status\":\"UP\"}");

  @BeforeEach
  void install() throws Exception {
    kubeconfig = ShiftCommandTest.kubeconfig(dir, client, "default");
    health = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    health.createContext(
        "/actuator/health",
        exchange -> {
          byte[] body = healthBody.get().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(body.length > 20 ? 503 : 200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    health.start();
    for (String crd : CheckCommand.CRDS) {
      client
          .apiextensions()
          .v1()
          .customResourceDefinitions()
          .resource(crd(crd))
          .createOr(c -> c.update());
    }
    client
        .apps()
        .deployments()
        .inNamespace("weft-system")
        .resource(
            new DeploymentBuilder()
                .withNewMetadata()
                .withName("weft")
                .endMetadata()
                .withNewSpec()
                .withReplicas(2)
                .endSpec()
                .withNewStatus()
                .withReadyReplicas(2)
                .endStatus()
                .build())
        .createOr(c -> c.update());
    leaseRenewed(NOW.minusSeconds(3));
  }

  @AfterEach
  void stop() {
    health.stop(0);
    client.apiextensions().v1().customResourceDefinitions().delete();
    client.apps().deployments().inNamespace("weft-system").delete();
    client.leases().inNamespace("weft-system").delete();
  }

  @Test
  void aHealthyInstallPassesEveryCheck() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString())
        .isEqualTo(
            """
            kubernetes-api
            --------------
            √ can reach the Kubernetes API server

            weft-crds
            ---------
            √ CRD httproutes.gateway.networking.k8s.io is installed
            √ CRD grpcroutes.gateway.networking.k8s.io is installed
            √ CRD authorizationpolicies.mesh.weft.dev is installed
            √ CRD faultpolicies.mesh.weft.dev is installed
            √ CRD meshtlspolicies.mesh.weft.dev is installed
            √ CRD ratelimitpolicies.mesh.weft.dev is installed
            √ CRD telemetries.mesh.weft.dev is installed
            √ CRD trafficpolicies.mesh.weft.dev is installed

            weft-control-plane
            ------------------
            √ Deployment weft-system/weft is ready (2 of 2 replicas)
            √ leader Lease weft-system/weft-leader is held by weft-0 (renewed 3s ago)

            weft-health
            -----------
            √ control plane health %s is UP

            Status check results are √
            """
                .formatted(healthUrl()));
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void aBrokenInstallNamesEachFailureWithAHint() {
    client
        .apiextensions()
        .v1()
        .customResourceDefinitions()
        .withName("trafficpolicies.mesh.weft.dev")
        .delete();
    leaseRenewed(NOW.minusSeconds(90));
    healthBody.set("{\"status\":\"DOWN\",\"components\":{\"registry\":{\"status\":\"DOWN\"}}}");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            × CRD trafficpolicies.mesh.weft.dev is installed
                not found
                hint: install Weft's CRDs: helm upgrade --install weft helm/weft -n weft-system (they are in helm/weft/crds)
            """)
        .contains(
            """
            × leader Lease weft-system/weft-leader is held by weft-0 (renewed 1m30s ago)
                not renewed for 1m30s, longer than its 15s duration: the leader is gone
                hint: without a leader no route status is written and the CA root is not rotated; kubectl -n weft-system logs deploy/weft
            """)
        .contains(
            "× control plane health "
                + healthUrl()
                + " is UP\n    it says DOWN\n    hint: kubectl -n weft-system logs deploy/weft says why; ")
        .contains("√ Deployment weft-system/weft is ready (2 of 2 replicas)")
        .endsWith("Status check results are ×\n");
    assertThat(err.toString())
        .isEqualTo("weft check: 3 of 12 checks failed; see the hints above\n");
  }

  @Test
  void anUnreachableApiServerSkipsTheChecksThatNeedIt() throws Exception {
    Path nowhere = dir.resolve("nowhere");
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Files.writeString(
        nowhere,
        Files.readString(kubeconfig)
            .replace(client.getMasterUrl().toString(), "http://127.0.0.1:" + closed + "/"));
    kubeconfig = nowhere;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .startsWith(
            """
            kubernetes-api
            --------------
            × can reach the Kubernetes API server
                cannot reach the Kubernetes API server; check kubectl cluster-info, --kubeconfig and --context
            """)
        .doesNotContain("weft-crds")
        .contains("√ control plane health");
    assertThat(err.toString()).isEqualTo("weft check: 1 of 2 checks failed; see the hints above\n");
  }

  private int check(StringWriter out, StringWriter err) {
    return WeftCli.commandLine(
            Clock.fixed(NOW, ZoneOffset.UTC),
            new PrintWriter(out, true),
            new PrintWriter(err, true))
        .execute(
            "check",
            "--kubeconfig=" + kubeconfig,
            "--request-timeout=5s",
            "--health=" + healthUrl());
  }

  private String healthUrl() {
    return "http://127.0.0.1:" + health.getAddress().getPort() + "/actuator/health";
  }

  private static void leaseRenewed(Instant at) {
    client
        .leases()
        .inNamespace("weft-system")
        .resource(
            new LeaseBuilder()
                .withNewMetadata()
                .withName("weft-leader")
                .endMetadata()
                .withNewSpec()
                .withHolderIdentity("weft-0")
                .withLeaseDurationSeconds(15)
                .withRenewTime(ZonedDateTime.ofInstant(at, ZoneOffset.UTC))
                .endSpec()
                .build())
        .createOr(c -> c.update());
  }

  private static CustomResourceDefinition crd(String name) {
    String plural = name.substring(0, name.indexOf('.'));
    String group = name.substring(name.indexOf('.') + 1);
    return new CustomResourceDefinitionBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withGroup(group)
        .withScope("Namespaced")
        .withNewNames()
        .withPlural(plural)
        .withKind(plural)
        .endNames()
        .addNewVersion()
        .withName("v1")
        .withServed(true)
        .withStorage(true)
        .endVersion()
        .endSpec()
        .build();
  }
}
