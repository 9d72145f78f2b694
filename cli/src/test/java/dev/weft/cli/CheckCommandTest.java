package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code weft check} against a healthy and a broken install: the Kubernetes side on Fabric8's mock
 * API server (CRUD, and SubjectAccessReviews answered from {@link #DENIED}), Weft's HTTP API
 * (health, proxies, CA) on a loopback server, at a fixed time.
 */
@EnableKubernetesMockClient(crud = true)
class CheckCommandTest {

  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

  /** The SubjectAccessReviews the mock API server denies: "verb resource[/subresource] [name]". */
  private static final AtomicReference<Set<String>> DENIED = new AtomicReference<>(Set.of());

  private static final String SYNCED_PROXY =
      """
      {"stream": "%1$s", "nodeId": "%2$s", "namespace": "shop", "type": "grpc", "protocol": "delta",
       "replica": "weft-0", "connectedSince": "2026-11-30T11:00:00Z", "behindSince": %3$s,
       "types": {"type.googleapis.com/envoy.config.listener.v3.Listener": {
         "subscribed": ["a"], "ackedVersion": "3-aa", "ackedAt": "2026-11-30T11:00:01Z",
         "pendingVersion": "%4$s", "pendingSince": %3$s, "resources": ["a"], "lastNack": %5$s}}}
      """;

  static KubernetesMockServer server;
  static KubernetesClient client;
  private static boolean reviewsAnswered;

  @TempDir Path dir;
  private Path kubeconfig;
  private HttpServer weft;
  private final AtomicReference<String> healthBody = new AtomicReference<>("{\"status\":\"UP\"}");
  private final AtomicReference<String> proxiesBody = new AtomicReference<>();
  private final AtomicReference<String> caBody =
      new AtomicReference<>("{\"reason\":\"the CA is not loaded yet\"}");

  @BeforeEach
  void install() throws Exception {
    kubeconfig = ShiftCommandTest.kubeconfig(dir, client, "default");
    if (!reviewsAnswered) {
      // CRUD mode would store a review and answer it without a status: answer it as RBAC would.
      server
          .expect()
          .post()
          .withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews")
          .andReply(200, request -> review(request.getUtf8Body()))
          .always();
      reviewsAnswered = true;
    }
    DENIED.set(Set.of());
    proxiesBody.set(
        "["
            + proxy("1", "web-0.shop", null, "", null)
            + ","
            + proxy("2", "api-0.shop", null, "", null)
            + "]");
    weft = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    serve("/actuator/health", healthBody);
    serve("/debug/proxies", proxiesBody);
    serve("/debug/ca", caBody);
    weft.start();
    trustBundle(
        root("weft-root-1", NOW.minus(Duration.ofDays(30)), NOW.plus(Duration.ofDays(335))));
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
    weft.stop(0);
    client.apiextensions().v1().customResourceDefinitions().delete();
    client.apps().deployments().inNamespace("weft-system").delete();
    client.leases().inNamespace("weft-system").delete();
    client.configMaps().inNamespace("weft-system").delete();
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

            weft-rbac
            ---------
            √ ServiceAccount weft-system/weft may do what Weft needs (60 rules)

            weft-ca
            -------
            √ CA root CN=weft-root-1 in ConfigMap weft-system/weft-ca-root-cert is valid until 2027-10-31T12:00:00Z

            weft-health
            -----------
            √ control plane health %s is UP

            weft-proxies
            ------------
            √ the proxies are in sync (2 connected; none NACKED or behind for over 30s)

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
        .isEqualTo("weft check: 3 of 15 checks failed; see the hints above\n");
  }

  @Test
  void aLeaseNoReplicaHoldsIsNoLeader() {
    client.leases().inNamespace("weft-system").delete();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            × leader Lease weft-system/weft-leader is held
                not found: no replica has led yet
                hint: without a leader no route status is written and the CA root is not rotated; kubectl -n weft-system logs deploy/weft
            """);
    assertThat(err.toString())
        .isEqualTo("weft check: 1 of 15 checks failed; see the hints above\n");
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
        .doesNotContain("weft-rbac")
        .contains("√ control plane health")
        .contains("√ the proxies are in sync");
    assertThat(err.toString()).isEqualTo("weft check: 2 of 4 checks failed; see the hints above\n");
  }

  @Test
  void anExpiredRootFailsWithItsSubjectAndExpiry() throws Exception {
    trustBundle(
        root("weft-root-0", NOW.minus(Duration.ofDays(400)), NOW.minus(Duration.ofDays(35))));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            × CA root CN=weft-root-0 in ConfigMap weft-system/weft-ca-root-cert is valid until 2026-10-26T12:00:00Z
                expired 35d ago: workloads no longer trust certificates it signed
                hint: the leader starts a new root at two thirds of the root's life and retires the old one (docs/operations.md, Certificate authority): check that a leader exists and kubectl -n weft-system logs deploy/weft | grep -i root
            """)
        .endsWith("Status check results are ×\n");
    assertThat(err.toString())
        .isEqualTo("weft check: 1 of 15 checks failed; see the hints above\n");
  }

  @Test
  void aRootNearExpiryFailsUnlessANewerRootIsInTheBundle() throws Exception {
    String old =
        root("weft-root-1", NOW.minus(Duration.ofDays(355)), NOW.plus(Duration.ofDays(10)));
    trustBundle(old);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    assertThat(check(out, err)).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            × CA root CN=weft-root-1 in ConfigMap weft-system/weft-ca-root-cert is valid until 2026-12-10T12:00:00Z
                expires in 10d, within --root-expiry-warning 30d, and no newer root is in the bundle
            """);

    trustBundle(
        old + root("weft-root-2", NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(365))));
    StringWriter rotating = new StringWriter();
    StringWriter rotatingErr = new StringWriter();

    assertThat(check(rotating, rotatingErr)).as(rotatingErr.toString()).isZero();
    assertThat(rotating.toString())
        .contains(
            """
            √ CA root CN=weft-root-1 in ConfigMap weft-system/weft-ca-root-cert is valid until 2026-12-10T12:00:00Z; a newer root follows it (a rotation is under way)
            √ CA root CN=weft-root-2 in ConfigMap weft-system/weft-ca-root-cert is valid until 2027-11-30T12:00:00Z
            """);
  }

  @Test
  void withoutTheConfigMapTheBundleComesFromWeftsDebugApi() throws Exception {
    client.configMaps().inNamespace("weft-system").delete();
    caBody.set(
        WeftApi.JSON
            .createObjectNode()
            .put(
                "trustBundlePem",
                root("weft-root-1", NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(365))))
            .toString());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).as(out.toString()).isZero();
    assertThat(out.toString())
        .contains(
            "√ CA root CN=weft-root-1 in "
                + weftUrl()
                + "/debug/ca is valid until 2027-11-30T12:00:00Z");
  }

  @Test
  void aRbacDenialNamesEachRuleAndHowToRestoreIt() {
    DENIED.set(Set.of("update httproutes/status", "get secrets weft-ca"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            weft-rbac
            ---------
            × ServiceAccount weft-system/weft may do what Weft needs (60 rules)
                denied: update httproutes.gateway.networking.k8s.io/status in every namespace (no RBAC policy matched)
                denied: get secrets named weft-ca in namespace weft-system (no RBAC policy matched)
                hint: helm upgrade weft helm/weft -n weft-system restores the chart's ClusterRole and Role; with rbac.create=false grant these rules yourself (docs/install.md lists them), or pass --service-account
            """)
        .endsWith("Status check results are ×\n");
    assertThat(err.toString())
        .isEqualTo("weft check: 1 of 15 checks failed; see the hints above\n");
  }

  @Test
  void anotherServiceAccountIsAskedAboutWhenNamed() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err, "--service-account=mesh");

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains("× ServiceAccount weft-system/mesh may do what Weft needs (60 rules)")
        .contains("    denied: list services in every namespace (no RBAC policy matched)");
  }

  @Test
  void withoutTheCaNeitherItsRulesNorItsRootAreChecked() {
    client.configMaps().inNamespace("weft-system").delete();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err, "--ca-secret=");

    assertThat(exit).as(out.toString()).isZero();
    assertThat(out.toString())
        .contains("√ ServiceAccount weft-system/weft may do what Weft needs (49 rules)")
        .doesNotContain("weft-ca");
  }

  @Test
  void nackedAndStaleProxiesFailTheProxiesCheckNamingTheFirstFive() {
    List<String> proxies = new ArrayList<>();
    proxies.add(
        proxy(
            "1",
            "web-0.shop",
            NOW.minusSeconds(5),
            "",
            "{\"version\": \"4-bb\", \"detail\": \"bad lb policy\", \"at\": \"2026-11-30T11:59:55Z\"}"));
    for (int i = 0; i < 6; i++) {
      proxies.add(
          proxy(String.valueOf(10 + i), "api-" + i + ".shop", NOW.minusSeconds(90), "4-bb", null));
    }
    // Behind for less than --stale-after: a rollout in progress, not a failure.
    proxies.add(proxy("20", "fresh-0.shop", NOW.minusSeconds(2), "4-bb", null));
    proxies.add(proxy("21", "ok-0.shop", null, "", null));
    proxiesBody.set("[" + String.join(",", proxies) + "]");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit = check(out, err);

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            weft-proxies
            ------------
            × the proxies are in sync (9 connected; none NACKED or behind for over 30s)
                7 of 9 proxies do not hold their latest configuration: web-0.shop (NACKED), api-0.shop (STALE for 1m30s), api-1.shop (STALE for 1m30s), api-2.shop (STALE for 1m30s), api-3.shop (STALE for 1m30s) and 2 more
                hint: weft proxy-status shows each type's state and the error of a NACK; config-dump PROXY what it holds

            Status check results are ×
            """);
    assertThat(err.toString())
        .isEqualTo("weft check: 1 of 15 checks failed; see the hints above\n");
  }

  @Test
  void anUnreachableWeftApiFailsTheProxiesCheckWithHowToReachIt() throws Exception {
    String server = weftUrl();
    weft.stop(0);
    weft = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    serve("/actuator/health", healthBody);
    weft.start();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int exit =
        WeftCli.commandLine(
                Clock.fixed(NOW, ZoneOffset.UTC),
                new PrintWriter(out, true),
                new PrintWriter(err, true))
            .execute(
                "check",
                "--kubeconfig=" + kubeconfig,
                "--request-timeout=5s",
                "--server=" + server,
                "--health=" + healthUrl());

    assertThat(exit).isEqualTo(1);
    assertThat(out.toString())
        .contains(
            """
            × the proxies are in sync
                cannot reach Weft's HTTP API at %s; start kubectl -n weft-system port-forward svc/weft 8080, or pass --server
                hint: weft proxy-status reads the same API; pass --server and --token as for it
            """
                .formatted(server));
  }

  private int check(StringWriter out, StringWriter err, String... options) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "check",
                "--kubeconfig=" + kubeconfig,
                "--request-timeout=5s",
                "--server=" + weftUrl(),
                "--health=" + healthUrl()));
    args.addAll(List.of(options));
    return WeftCli.commandLine(
            Clock.fixed(NOW, ZoneOffset.UTC),
            new PrintWriter(out, true),
            new PrintWriter(err, true))
        .execute(args.toArray(String[]::new));
  }

  private String weftUrl() {
    return "http://127.0.0.1:" + weft.getAddress().getPort();
  }

  private String healthUrl() {
    return weftUrl() + "/actuator/health";
  }

  private void serve(String path, AtomicReference<String> body) {
    weft.createContext(
        path,
        exchange -> {
          byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
          boolean failed = body.get().contains("DOWN") || body.get().contains("reason");
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(failed ? 503 : 200, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
  }

  /** One entry of /debug/proxies, as Weft writes it: behind since, pending, rejected. */
  private static String proxy(
      String stream, String nodeId, Instant behindSince, String pending, String nack) {
    return SYNCED_PROXY.formatted(
        stream,
        nodeId,
        behindSince == null ? "null" : "\"" + behindSince + "\"",
        pending,
        nack == null ? "null" : nack);
  }

  /** The answer RBAC would give: allowed unless DENIED lists it; only Weft's ServiceAccount. */
  private static String review(String body) {
    ObjectNode review = (ObjectNode) WeftApi.JSON.readTree(body);
    JsonNode spec = review.path("spec");
    JsonNode attributes = spec.path("resourceAttributes");
    String key =
        attributes.path("verb").asString()
            + " "
            + attributes.path("resource").asString()
            + (attributes.path("subresource").asString().isEmpty()
                ? ""
                : "/" + attributes.path("subresource").asString())
            + (attributes.path("name").asString().isEmpty()
                ? ""
                : " " + attributes.path("name").asString());
    boolean allowed =
        spec.path("user").asString().equals("system:serviceaccount:weft-system:weft")
            && !DENIED.get().contains(key);
    ObjectNode status = review.putObject("status");
    status.put("allowed", allowed);
    if (!allowed) {
      status.put("reason", "no RBAC policy matched");
    }
    return review.toString();
  }

  private static void trustBundle(String pem) {
    client
        .configMaps()
        .inNamespace("weft-system")
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("weft-ca-root-cert")
                .endMetadata()
                .addToData("ca.crt", pem)
                .build())
        .createOr(c -> c.update());
  }

  /** A self-signed CA certificate, PEM, as Weft's CA makes its root. */
  static String root(String commonName, Instant notBefore, Instant notAfter) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    KeyPair keys = generator.generateKeyPair();
    X500Name name = new X500Name("CN=" + commonName);
    JcaX509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            name,
            BigInteger.ONE,
            Date.from(notBefore),
            Date.from(notAfter),
            name,
            keys.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    }
    return pem.toString();
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
