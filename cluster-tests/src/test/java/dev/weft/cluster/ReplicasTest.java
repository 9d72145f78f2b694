package dev.weft.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.Svid;
import dev.weft.ca.WorkloadAgent;
import dev.weft.demo.Greeter;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Weft as it runs in a cluster: three replicas of the real image, configured by the chart's own pod
 * template and ConfigMap, against Fabric8's mock API server (CRUD mode) in this JVM, serving
 * grpc-xds clients under continuous traffic. One scenario, in steps that build on each other: the
 * replicas elect one leader; every client converges on a weight edit; a replica stopped with
 * SIGTERM drains without failing a call; a restarted replica gets its share as streams age out; a
 * killed leader is replaced and statuses and certificates go on; a stolen Lease is won back; and
 * every request Weft made is one the chart's RBAC allows.
 *
 * <p>Containers share the host's network (the Docker engine has no bridge), so all traffic stays on
 * loopback; each replica has ports of its own, as each Pod has an address of its own. The control
 * plane's Service name, which the chart puts in bootstraps, resolves to the replicas that are up
 * ({@link ServiceDns}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ReplicasTest {

  private static final String NAMESPACE = RenderedChart.NAMESPACE;
  private static final String MESH = "demo";
  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final int CLIENTS = 15;
  private static final String LEASE = "weft-leader";
  private static final String DEBUG_TOKEN = "token-of-weft-tests-debugging";

  /** Short enough that a restarted replica gets its share within the test; 30 m in production. */
  private static final String MAX_STREAM_AGE = "12s";

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final Path work = Path.of("target", "cluster");
  private final List<Replica> replicas = new ArrayList<>();
  private final List<MeshClient> clients = new ArrayList<>();
  private final List<Server> backends = new ArrayList<>();
  private ApiServer api;
  private KubernetesClient kube;
  private RenderedChart chart;
  private PodTemplate pod;
  private ServiceDns serviceDns;
  private String image;
  private String serviceAddress;

  @BeforeAll
  void startCluster() throws Exception {
    Files.createDirectories(work);
    api = new ApiServer();
    kube = api.client();
    for (String namespace : List.of(NAMESPACE, MESH, "kube-system")) {
      kube.namespaces()
          .resource(
              new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build())
          .create();
    }
    int v1 = startBackend("v1");
    int v2 = startBackend("v2");
    for (HasMetadata object : mesh(v1, v2)) {
      kube.resource(object).create();
    }

    image = System.getProperty("weft.image", "weft/controller:test");
    int colon = image.lastIndexOf(':');
    chart =
        RenderedChart.template()
            .set("image.repository", image.substring(0, colon))
            .set("image.tag", image.substring(colon + 1))
            .set("xds.maxStreamAge", MAX_STREAM_AGE)
            .set("xds.maxStreamAgeGrace", "2s")
            .set("xds.drainPeriod", "4s")
            // The test's clients have no SVIDs: they reach the replicas' plaintext port directly.
            .set("xds.plaintext", "true")
            .set("http.debugServiceAccounts[0]", NAMESPACE + "/weft-tests")
            .render();
    pod = PodTemplate.of(chart);
    assertThat(pod.image()).isEqualTo(image);
    serviceAddress =
        String.valueOf(
            RenderedChart.at(chart.settings(), "weft.xds.advertised-address").orElseThrow());
    serviceDns = new ServiceDns(serviceAddress);
    // The debug API, which the test reads, lets in the ServiceAccount the chart was told of.
    api.issueToken(DEBUG_TOKEN, NAMESPACE, "weft-tests");
    // The replicas' own, with which they ask one another what their proxies hold.
    api.issueToken(
        Replica.SERVICE_ACCOUNT_TOKEN,
        NAMESPACE,
        chart.deployment().getSpec().getTemplate().getSpec().getServiceAccountName());

    List<CompletableFuture<Replica>> starting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String name = "weft-" + i;
      starting.add(
          CompletableFuture.supplyAsync(
              () -> Replica.start(name, image, pod, NAMESPACE, api, work, DEBUG_TOKEN)));
    }
    for (CompletableFuture<Replica> replica : starting) {
      replicas.add(replica.get(3, TimeUnit.MINUTES));
    }
    publishReplicas();
    await()
        .atMost(Duration.ofMinutes(1))
        .untilAsserted(
            () -> {
              for (Replica replica : replicas) {
                assertThat(replica.status(pod.readinessPath())).as(replica.name).isEqualTo(200);
              }
            });
  }

  @AfterAll
  void stopCluster() throws Exception {
    for (MeshClient client : clients) {
      client.close();
    }
    for (Replica replica : replicas) {
      replica.close();
    }
    for (Server backend : backends) {
      backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (serviceDns != null) {
      serviceDns.close();
    }
    if (api != null) {
      api.close();
    }
  }

  @Test
  @Order(1)
  void threeReplicasAnswerTheChartsProbesAndExactlyOneLeads() {
    for (Replica replica : replicas) {
      assertThat(replica.status(pod.startupPath())).as(replica.name).isEqualTo(200);
      assertThat(replica.status(pod.livenessPath())).as(replica.name).isEqualTo(200);
      assertThat(replica.status(pod.readinessPath())).as(replica.name).isEqualTo(200);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              Replica leader = leader();
              assertThat(leaseHolder()).isEqualTo(leader.name);
            });
  }

  @Test
  @Order(2)
  void clientsSpreadOverTheReplicasConvergeOnAWeightEditWithinASecond() throws Exception {
    for (int i = 0; i < CLIENTS; i++) {
      String nodeId = "client-" + i + "." + MESH;
      String bootstrap =
          replicas
              .get(i % replicas.size())
              .json(
                  "/bootstrap?namespace=" + MESH + "&serviceAccount=greeter-client&pod=client-" + i)
              .toString();
      JsonNode parsed = JSON.readTree(bootstrap);
      assertThat(parsed.at("/xds_servers/0/server_uri").asString())
          .as("bootstraps point at the control plane's Service")
          .isEqualTo(serviceAddress);
      clients.add(new MeshClient("xds-cluster-" + i, nodeId, bootstrap, TARGET));
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              for (MeshClient client : clients) {
                assertThat(client.lastV1AnswerNanos()).as(client.nodeId).isPositive();
              }
              assertThat(streamsPerReplica().values().stream().mapToInt(List::size).sum())
                  .isEqualTo(CLIENTS);
            });
    Map<String, List<String>> spread = streamsPerReplica();
    assertThat(spread.values().stream().flatMap(List::stream))
        .as("each client has one stream, on some replica")
        .containsExactlyInAnyOrderElementsOf(clients.stream().map(c -> c.nodeId).toList());
    System.out.println("streams per replica before the edit: " + counts(spread));
    // Any replica lists every replica's proxies, each with the replica its stream is on.
    Map<String, List<String>> listedByOne = new TreeMap<>();
    for (JsonNode proxy : replicas.get(0).json("/debug/proxies")) {
      listedByOne
          .computeIfAbsent(proxy.get("replica").asString(), r -> new ArrayList<>())
          .add(proxy.get("nodeId").asString());
    }
    spread.forEach(
        (replica, nodes) -> {
          if (!nodes.isEmpty()) {
            assertThat(listedByOne).containsKey(replica);
          }
        });
    listedByOne.forEach(
        (replica, nodes) ->
            assertThat(nodes).containsExactlyInAnyOrderElementsOf(spread.get(replica)));

    setWeights(0, 100);
    long edited = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              for (MeshClient client : clients) {
                assertThat(client.lastV2AnswerNanos()).as(client.nodeId).isGreaterThan(edited);
              }
            });
    // Let every client make calls well past convergence, so that a late answer from v1 shows.
    long settled = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> clients.stream().allMatch(c -> c.lastV2AnswerNanos() > settled + 500_000_000L));
    long slowest =
        clients.stream()
            .mapToLong(c -> Math.max(0, c.lastV1AnswerNanos() - edited))
            .max()
            .orElseThrow();
    System.out.printf(
        "weight edit 100/0 -> 0/100: the last call answered by v1 ended %d ms after the edit%n",
        TimeUnit.NANOSECONDS.toMillis(slowest));
    assertThat(Duration.ofNanos(slowest)).isLessThanOrEqualTo(Duration.ofSeconds(1));
    assertNoCallFailed();
  }

  @Test
  @Order(3)
  void theLeaderStoppedWithSigtermTurnsUnreadyHandsOverAndDrainsWithoutFailingACall()
      throws Exception {
    Replica stopping = leader();
    Map<String, List<String>> before = streamsPerReplica();
    assertThat(before.get(stopping.name)).as("the replica to stop has streams").isNotEmpty();

    Duration grace =
        Duration.ofSeconds(
            chart
                .deployment()
                .getSpec()
                .getTemplate()
                .getSpec()
                .getTerminationGracePeriodSeconds());
    long signalled = System.nanoTime();
    CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> stopping.terminate(grace));
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .untilAsserted(
            () -> assertThat(stopping.status(pod.readinessPath())).as("readiness").isEqualTo(503));
    List<Replica> others = replicas.stream().filter(r -> r != stopping).toList();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> others.stream().anyMatch(Replica::leading));
    long handedOver = System.nanoTime();
    stopped.get(grace.toSeconds() + 10, TimeUnit.SECONDS);
    long exited = System.nanoTime();
    assertThat(stopping.exitCode()).as("exit code after SIGTERM").isEqualTo(143);
    replicas.remove(stopping);
    publishReplicas();
    assertThat(leaseHolder()).isEqualTo(leader().name);

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(streamsPerReplica().values().stream().flatMap(List::stream))
                    .containsExactlyInAnyOrderElementsOf(
                        clients.stream().map(c -> c.nodeId).toList()));
    System.out.printf(
        "SIGTERM of leader %s (%d streams): %s leads %d ms later; exited after %d ms; now %s%n",
        stopping.name,
        before.get(stopping.name).size(),
        leader().name,
        TimeUnit.NANOSECONDS.toMillis(handedOver - signalled),
        TimeUnit.NANOSECONDS.toMillis(exited - signalled),
        counts(streamsPerReplica()));
    assertNoCallFailed();
  }

  @Test
  @Order(4)
  void aReplicaStartedAgainGetsItsShareOfStreamsAsConnectionsAge() {
    long started = System.nanoTime();
    Replica restarted = Replica.start("weft-3", image, pod, NAMESPACE, api, work, DEBUG_TOKEN);
    replicas.add(restarted);
    await().atMost(Duration.ofMinutes(1)).until(() -> restarted.status(pod.readinessPath()) == 200);
    publishReplicas();

    int share = CLIENTS / replicas.size();
    int slack = Math.max(1, share / 5);
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              Map<String, List<String>> spread = streamsPerReplica();
              assertThat(spread.values().stream().mapToInt(List::size).sum()).isEqualTo(CLIENTS);
              for (Replica replica : replicas) {
                assertThat(spread.get(replica.name).size())
                    .as(replica.name + " of " + counts(spread))
                    .isBetween(share - slack, share + slack);
              }
            });
    System.out.printf(
        "streams per replica %.1f s after a replica started again: %s%n",
        (System.nanoTime() - started) / 1e9, counts(streamsPerReplica()));
    assertNoCallFailed();
  }

  @Test
  @Order(5)
  void aKilledLeaderIsReplacedAndStatusesAndCertificatesGoOn() throws Exception {
    Replica leader = leader();
    leader.kill();
    long killed = System.nanoTime();
    replicas.remove(leader);
    publishReplicas();

    await()
        .atMost(Duration.ofSeconds(40))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              Replica next = leader();
              assertThat(leaseHolder()).isEqualTo(next.name);
            });
    Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
    System.out.printf(
        "SIGKILL of leader %s: %s leads %d ms later%n",
        leader.name, leader().name, takeover.toMillis());
    // The Lease lapses 15 s after the last renewal; candidates try every 2-4.4 s (jittered).
    assertThat(takeover).isLessThanOrEqualTo(Duration.ofMillis(15_000 + 4_400));

    kube.resource(service("audit")).create();
    kube.resource(route("audit", "audit", 100, null)).create();
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(conditions("audit"))
                    .containsEntry("Accepted", "True")
                    .containsEntry("Programmed", "True"));

    ConfigMap bundle =
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () -> kube.configMaps().inNamespace(MESH).withName("weft-ca-root-cert").get(),
                found -> found != null);
    kube.configMaps().inNamespace(MESH).withName("weft-ca-root-cert").delete();
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(kube.configMaps().inNamespace(MESH).withName("weft-ca-root-cert").get())
                    .as("the leader puts back a deleted trust bundle")
                    .isNotNull());
    Path agentDir = Files.createTempDirectory(work, "agent");
    Files.writeString(agentDir.resolve("token"), "token-of-greeter-client");
    Files.writeString(agentDir.resolve("ca.crt"), bundle.getData().get("ca.crt"));
    api.issueToken("token-of-greeter-client", MESH, "greeter-client");
    String serviceAccount = chart.one(ServiceAccount.class).getMetadata().getName();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try {
      for (Replica replica : replicas) {
        try (WorkloadAgent agent =
            WorkloadAgent.builder()
                .target("127.0.0.1:" + replica.caPort)
                .serverSpiffeId("spiffe://cluster.local/ns/" + NAMESPACE + "/sa/" + serviceAccount)
                .bootstrapTrustBundle(agentDir.resolve("ca.crt"))
                .tokenFile(agentDir.resolve("token"))
                .outputDirectory(agentDir.resolve("svid-" + replica.name))
                .scheduler(scheduler)
                .build()) {
          Svid svid = agent.renewNow();
          assertThat(svid.spiffeId())
              .as("issued by " + replica.name)
              .isEqualTo("spiffe://cluster.local/ns/demo/sa/greeter-client");
        }
      }
    } finally {
      scheduler.shutdownNow();
    }
    assertNoCallFailed();
  }

  @Test
  @Order(6)
  void aLeaseTakenAwayFor20SecondsIsWonBackOnceFree() {
    String before = leader().name;
    long stealing = System.nanoTime();
    long deposed = 0;
    while (System.nanoTime() - stealing < TimeUnit.SECONDS.toNanos(20)) {
      steal();
      if (deposed == 0 && replicas.stream().noneMatch(Replica::leading)) {
        deposed = System.nanoTime();
      }
      long next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
      await().pollDelay(Duration.ZERO).until(() -> System.nanoTime() >= next);
    }
    assertThat(deposed).as("the leader stepped down while the Lease was taken").isPositive();
    long freed = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              Replica leader = leader();
              assertThat(leaseHolder()).isEqualTo(leader.name);
              for (Replica replica : replicas) {
                assertThat(
                        replica
                            .json("/actuator/health")
                            .at("/components/leader/details/leader")
                            .asString())
                    .as(replica.name + " sees the leader")
                    .isEqualTo(leader.name);
              }
            });
    System.out.printf(
        "Lease taken from %s for 20 s: it stepped down after %d ms; %s leads %d ms after the"
            + " Lease was left to lapse%n",
        before,
        TimeUnit.NANOSECONDS.toMillis(deposed - stealing),
        leader().name,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed));
    assertNoCallFailed();
  }

  @Test
  @Order(7)
  void everyRequestWeftMadeIsAllowedByTheChartsRbacAndNoRuleIsAWildcard() {
    RbacRules rules = RbacRules.of(chart);
    assertThat(rules.wildcards()).isEmpty();
    List<ApiServer.Request> made =
        api.requests().stream()
            .filter(r -> r.userAgent() != null && r.userAgent().startsWith("weft-controller"))
            .toList();
    assertThat(made).as("requests recorded from the replicas").isNotEmpty();
    Map<String, Long> seen =
        made.stream()
            .map(r -> ApiRequest.of(r.method(), r.path()))
            .collect(
                Collectors.groupingBy(ApiRequest::toString, TreeMap::new, Collectors.counting()));
    System.out.println("requests Weft made: " + seen.size() + " kinds");
    seen.forEach((request, count) -> System.out.println("  " + count + " x " + request));
    List<String> denied = new ArrayList<>();
    for (ApiServer.Request request : made) {
      if (!rules.allows(ApiRequest.of(request.method(), request.path()), NAMESPACE)) {
        denied.add(request.method() + " " + request.path());
      }
    }
    assertThat(denied).as("requests the chart's RBAC would refuse").isEmpty();
  }

  private void steal() {
    try {
      Lease lease = kube.leases().inNamespace(NAMESPACE).withName(LEASE).get();
      lease.getSpec().setHolderIdentity("thief");
      lease.getSpec().setLeaseDurationSeconds(15);
      lease.getSpec().setRenewTime(ZonedDateTime.now(ZoneOffset.UTC));
      kube.resource(lease).update();
    } catch (KubernetesClientException conflict) {
      // A renewal got in between: the next round takes it again.
    }
  }

  private String leaseHolder() {
    Lease lease = kube.leases().inNamespace(NAMESPACE).withName(LEASE).get();
    return lease == null ? "" : lease.getSpec().getHolderIdentity();
  }

  /** The one replica that says it leads; fails unless exactly one does. */
  private Replica leader() {
    List<Replica> leading = replicas.stream().filter(Replica::leading).toList();
    assertThat(leading).as("replicas that lead").hasSize(1);
    return leading.get(0);
  }

  /** Node ids per replica, from each replica's /debug/proxies. */
  private Map<String, List<String>> streamsPerReplica() {
    Map<String, List<String>> spread = new TreeMap<>();
    for (Replica replica : replicas) {
      spread.put(replica.name, replica.proxies());
    }
    return spread;
  }

  private static Map<String, Integer> counts(Map<String, List<String>> spread) {
    Map<String, Integer> counts = new TreeMap<>();
    spread.forEach((replica, nodes) -> counts.put(replica, nodes.size()));
    return counts;
  }

  private void publishReplicas() {
    serviceDns.replicas(replicas.stream().map(Replica::xdsAddress).toList());
  }

  private void assertNoCallFailed() {
    Map<String, List<String>> failures = new HashMap<>();
    long calls = 0;
    for (MeshClient client : clients) {
      calls += client.calls();
      if (!client.failures().isEmpty()) {
        failures.put(client.nodeId, client.failures());
      }
    }
    System.out.println("calls so far: " + calls + ", failed: " + failures);
    assertThat(failures).as("failed calls").isEmpty();
  }

  private int startBackend(String name) throws Exception {
    Server server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(Greeter.service(name))
            .build()
            .start();
    backends.add(server);
    return server.getPort();
  }

  private void setWeights(int v1, int v2) {
    HTTPRoute route = kube.resources(HTTPRoute.class).inNamespace(MESH).withName("greeter").get();
    route.getSpec().getRules().get(0).getBackendRefs().get(0).setWeight(v1);
    route.getSpec().getRules().get(0).getBackendRefs().get(1).setWeight(v2);
    kube.resource(route).update();
  }

  private Map<String, String> conditions(String route) {
    HTTPRoute current = kube.resources(HTTPRoute.class).inNamespace(MESH).withName(route).get();
    Map<String, String> conditions = new TreeMap<>();
    if (current.getStatus() != null && current.getStatus().getParents() != null) {
      for (RouteParentStatus parent : current.getStatus().getParents()) {
        for (Condition condition : parent.getConditions()) {
          conditions.put(condition.getType(), condition.getStatus());
        }
      }
    }
    return conditions;
  }

  /** greeter, with a version per backend and a route that sends everything to v1. */
  private static List<HasMetadata> mesh(int v1Port, int v2Port) {
    List<HasMetadata> objects = new ArrayList<>();
    objects.add(service("greeter"));
    for (String version : List.of("v1", "v2")) {
      int port = version.equals("v1") ? v1Port : v2Port;
      objects.add(service("greeter-" + version));
      objects.add(
          Serialization.unmarshal(
              """
              apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata:
                name: greeter-%1$s-a
                namespace: demo
                labels: {kubernetes.io/service-name: greeter-%1$s}
              addressType: IPv4
              ports: [{name: grpc, port: %2$d}]
              endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
              """
                  .formatted(version, port),
              HasMetadata.class));
    }
    objects.add(route("greeter", "greeter-v1", 100, "greeter-v2"));
    return objects;
  }

  private static HasMetadata service(String name) {
    return Serialization.unmarshal(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        """
            .formatted(name),
        HasMetadata.class);
  }

  /** A route on Service {@code parent}: all to {@code first}, none to {@code second} (if any). */
  private static HTTPRoute route(String parent, String first, int firstWeight, String second) {
    String backends =
        "- {name: %s, port: 50051, weight: %d}".formatted(first, firstWeight)
            + (second == null
                ? ""
                : "\n    - {name: %s, port: 50051, weight: 0}".formatted(second));
    return Serialization.unmarshal(
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: %s, namespace: demo}
        spec:
          parentRefs: [{group: "", kind: Service, name: %s, port: 50051}]
          rules:
          - backendRefs:
            %s
        """
            .formatted(parent, parent, backends),
        HTTPRoute.class);
  }
}
