package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two replicas of the control plane in one JVM (two Spring contexts, each with its own ports and
 * identity) against one mock API server: proxies connected to both count in a route's {@code
 * Programmed} condition, which the leader writes; a proxy on the follower that rejects the route
 * puts it false with its node id and error; and {@code /debug/proxies} on either replica lists the
 * proxies of both, each with its replica.
 */
class ReplicasApplicationTest {

  private static final String NAMESPACE = "demo";
  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final KubernetesMockServer api;
  private final KubernetesClient kube;
  private final List<KubernetesClient> clients = new ArrayList<>();
  private final List<ConfigurableApplicationContext> replicas = new ArrayList<>();
  private final List<RawProxy> proxies = new ArrayList<>();

  ReplicasApplicationTest() {
    api = MixedApiServer.start();
    // Every token is the control plane's own ServiceAccount's: what the replicas call one another
    // with, and what the test reads the debug API with.
    MixedApiServer.authenticateEveryTokenAs(api, "system:serviceaccount:weft-system:weft");
    kube = api.createClient();
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (RawProxy proxy : proxies) {
      proxy.close();
    }
    for (ConfigurableApplicationContext replica : replicas) {
      replica.close();
    }
    clients.forEach(KubernetesClient::close);
    kube.close();
    api.destroy();
  }

  @Test
  void programmedCountsTheProxiesOfEveryReplicaAndNamesOneThatRejectsOnTheFollower()
      throws Exception {
    service("greeter");
    service("greeter-v1");
    service("greeter-v2");

    Replica a = start("replica-a");
    Replica b = start("replica-b");
    Replica leader =
        await().atMost(WAIT).until(() -> a.leads() ? a : b.leads() ? b : null, r -> r != null);
    Replica follower = leader.equals(a) ? b : a;

    RawProxy onLeader = connect(leader, "leader-0");
    RawProxy onFollower = connect(follower, "follower-0");
    RawProxy rejecting = connect(follower, "follower-1");
    // The route comes once the proxies are connected: a pass of the status writer follows a
    // change, not a proxy that connects.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(replicaByNode(get(leader, "/debug/proxies").body())).hasSize(3));
    kube.resource(route(90, 10)).create();

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(programmed()).isEqualTo("True/Programmed: 3 of 3 proxies hold it"));

    // A new version, which one proxy on the follower rejects.
    rejecting.rejecting = true;
    edit(50, 50);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(programmed())
                    .isEqualTo(
                        "False/Rejected: 2 of 3 proxies hold it; proxy follower-1.demo rejected"
                            + " it: route refused by the test"));
    // describe's API says the same on either replica.
    for (Replica replica : List.of(a, b)) {
      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(describedProgrammed(replica))
                      .isEqualTo(
                          "false/Rejected: 2 of 3 proxies hold it; proxy follower-1.demo rejected"
                              + " it: route refused by the test"));
    }

    // Fixing the object sends a newer version, which every proxy takes.
    rejecting.rejecting = false;
    edit(60, 40);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(programmed()).isEqualTo("True/Programmed: 3 of 3 proxies hold it"));

    // Either replica lists every proxy, with the replica it is connected to.
    for (Replica replica : List.of(a, b)) {
      HttpResponse<String> response = get(replica, "/debug/proxies");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue(XdsDebugController.UNANSWERED_HEADER)).isEmpty();
      assertThat(replicaByNode(response.body()))
          .containsExactlyEntriesOf(
              new TreeMap<>(
                  Map.of(
                      "follower-0.demo", follower.identity,
                      "follower-1.demo", follower.identity,
                      "leader-0.demo", leader.identity)));
    }
    assertThat(replicaByNode(get(follower, "/debug/proxies?local=true").body()))
        .containsOnlyKeys("follower-0.demo", "follower-1.demo");

    // A third replica whose Lease is current but that does not answer: the condition says so
    // rather than claim every proxy.
    int closed = closedPort();
    kube.resource(
            new LeaseBuilder()
                .withNewMetadata()
                .withName("weft-replica-replica-c")
                .withNamespace("weft-system")
                .addToLabels(ReplicaLeases.COMPONENT_LABEL, ReplicaLeases.COMPONENT)
                .addToAnnotations(
                    ReplicaLeases.PEER_ADDRESS_ANNOTATION, "http://127.0.0.1:" + closed)
                .endMetadata()
                .withNewSpec()
                .withHolderIdentity("replica-c")
                .withLeaseDurationSeconds(300)
                .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC))
                .endSpec()
                .build())
        .create();
    // Once the leader has listed it (the debug API names it as not answering), a new version.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              HttpResponse<String> partial = get(leader, "/debug/proxies");
              assertThat(
                      partial.headers().firstValue(XdsDebugController.UNANSWERED_HEADER).orElse(""))
                  .startsWith("replica-c (");
              assertThat(replicaByNode(partial.body())).hasSize(3);
            });
    edit(70, 30);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(programmed())
                    .isEqualTo(
                        "False/Pending: 3 of 3 proxies on 2 of 3 replicas hold it; replica"
                            + " replica-c did not answer"));

    // It leaves (its Lease goes): every replica answers again.
    kube.leases().inNamespace("weft-system").withName("weft-replica-replica-c").delete();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(programmed()).isEqualTo("True/Programmed: 3 of 3 proxies hold it"));
    assertThat(onLeader.nacks + onFollower.nacks).isZero();
  }

  /** One replica: its context, identity and ports. */
  private record Replica(ConfigurableApplicationContext context, String identity, int httpPort) {
    boolean leads() {
      return context.getBean(LeaderElection.class).isLeader();
    }

    int xdsPort() {
      return context.getBean(XdsConfiguration.XdsServerLifecycle.class).port().orElseThrow();
    }
  }

  private Replica start(String identity) throws IOException {
    int httpPort = closedPort();
    int managementPort = closedPort();
    // Each replica has a client of its own, with a token, as a Pod's ServiceAccount gives it.
    KubernetesClient client =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(kube.getConfiguration())
                    .withOauthToken(identity + "-token")
                    .build())
            .build();
    clients.add(client);
    ConfigurableApplicationContext context =
        new SpringApplicationBuilder(WeftApplication.class)
            .initializers(c -> c.getBeanFactory().registerSingleton("kubernetesClient", client))
            .run(
                "--server.port=" + httpPort,
                "--server.address=127.0.0.1",
                "--management.server.port=" + managementPort,
                "--management.server.address=127.0.0.1",
                "--weft.mode=kubernetes",
                "--weft.kubernetes.namespaces=" + NAMESPACE,
                "--weft.kubernetes.identity=" + identity,
                "--weft.kubernetes.replicas.peer-address=http://127.0.0.1:" + httpPort,
                "--weft.kubernetes.replicas.renew-period=500ms",
                "--weft.kubernetes.leader-election.lease-duration=1500ms",
                "--weft.kubernetes.leader-election.renew-deadline=1000ms",
                "--weft.kubernetes.leader-election.retry-period=200ms",
                "--weft.xds.port=0",
                "--weft.xds.address=127.0.0.1",
                "--weft.ca.enabled=false",
                "--weft.injection.enabled=false");
    replicas.add(context);
    return new Replica(context, identity, httpPort);
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private RawProxy connect(Replica replica, String pod) {
    RawProxy proxy = new RawProxy(replica.xdsPort(), pod + "." + NAMESPACE);
    proxies.add(proxy);
    return proxy;
  }

  /**
   * A proxy speaking raw ADS (grpc-java's stubs of Envoy's protos): it subscribes to the route of
   * {@link #TARGET} and acknowledges every response, or, while {@link #rejecting}, rejects it.
   */
  private static final class RawProxy implements StreamObserver<DiscoveryResponse> {
    private final ManagedChannel channel;
    private final StreamObserver<DiscoveryRequest> requests;
    private volatile boolean rejecting;
    private volatile int nacks;
    private String acked = "";

    RawProxy(int port, String nodeId) {
      channel =
          Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
              .build();
      requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(this);
      Node node =
          Node.newBuilder()
              .setId(nodeId)
              .setMetadata(
                  Struct.newBuilder()
                      .putFields("NAMESPACE", Value.newBuilder().setStringValue(NAMESPACE).build()))
              .build();
      send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(RDS).addResourceNames(TARGET));
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      DiscoveryRequest.Builder answer =
          DiscoveryRequest.newBuilder()
              .setTypeUrl(RDS)
              .addResourceNames(TARGET)
              .setResponseNonce(response.getNonce());
      if (rejecting) {
        nacks++;
        answer
            .setVersionInfo(acked)
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("route refused by the test"));
      } else {
        acked = response.getVersionInfo();
        answer.setVersionInfo(acked);
      }
      send(answer);
    }

    private synchronized void send(DiscoveryRequest.Builder request) {
      requests.onNext(request.build());
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}

    void close() throws InterruptedException {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Weft's Programmed condition on the route, as "status/reason: message". */
  private String programmed() {
    HTTPRoute route =
        kube.resources(HTTPRoute.class).inNamespace(NAMESPACE).withName("greeter-split").get();
    if (route.getStatus() == null || route.getStatus().getParents() == null) {
      return "";
    }
    for (RouteParentStatus parent : route.getStatus().getParents()) {
      for (Condition condition : parent.getConditions()) {
        if (condition.getType().equals("Programmed")) {
          return condition.getStatus()
              + "/"
              + condition.getReason()
              + ": "
              + condition.getMessage();
        }
      }
    }
    return "";
  }

  /**
   * The route's Programmed condition in {@code /api/services/demo/greeter}, as `weft describe`
   * reads it.
   */
  private static String describedProgrammed(Replica replica)
      throws IOException, InterruptedException {
    JsonNode service = JSON.readTree(get(replica, "/api/services/demo/greeter").body());
    for (JsonNode config : service.path("attached")) {
      for (JsonNode condition : config.path("conditions")) {
        if (condition.path("type").asString().equals("Programmed")) {
          return condition.path("status").asString()
              + "/"
              + condition.path("reason").asString()
              + ": "
              + condition.path("message").asString();
        }
      }
    }
    return "";
  }

  private static Map<String, String> replicaByNode(String json) {
    Map<String, String> replicas = new TreeMap<>();
    for (JsonNode proxy : JSON.readTree(json)) {
      replicas.put(proxy.get("nodeId").asString(), proxy.get("replica").asString());
    }
    return replicas;
  }

  private static HttpResponse<String> get(Replica replica, String path)
      throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + replica.httpPort() + path))
            .header("Authorization", "Bearer reader-token")
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private void service(String name) {
    kube.resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(NAMESPACE)
                .endMetadata()
                .withNewSpec()
                .addNewPort()
                .withName("grpc")
                .withPort(50051)
                .endPort()
                .endSpec()
                .build())
        .create();
  }

  /** Sets the route's weights; a patch, so that a status write meanwhile is no conflict. */
  private void edit(int v1, int v2) {
    kube.resources(HTTPRoute.class)
        .inNamespace(NAMESPACE)
        .withName("greeter-split")
        .edit(
            current -> {
              current.setSpec(route(v1, v2).getSpec());
              return current;
            });
  }

  private static HTTPRoute route(int v1, int v2) {
    return Serialization.unmarshal(
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: greeter-split, namespace: demo}
        spec:
          parentRefs: [{group: "", kind: Service, name: greeter}]
          rules:
          - backendRefs:
            - {name: greeter-v1, port: 50051, weight: %d}
            - {name: greeter-v2, port: 50051, weight: %d}
        """
            .formatted(v1, v2),
        HTTPRoute.class);
  }
}
