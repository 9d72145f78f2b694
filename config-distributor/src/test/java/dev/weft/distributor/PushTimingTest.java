package dev.weft.distributor;

import static dev.weft.distributor.FakeTimeMesh.totalMillis;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Status;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import dev.weft.registry.TestObjects;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When the distributor pushes, on a fake clock: the quiet period and the max delay of a change that
 * is not only endpoints, the fast path of one that is, one unanswered response per type (ACK
 * gating), a rejected version, a reconnecting proxy, a delta stream, and a graceful end of streams.
 * Every latency figure is asserted exactly: it is the time the test moved the clock.
 */
class PushTimingTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String RDS = ResourceType.ROUTE.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";
  private static final ObjectKey ROUTE =
      new ObjectKey(ResourceKind.HTTP_ROUTE, "demo", "greeter-canary");

  /** The distributor's defaults, which these tests run with. */
  private static final Duration QUIET = Duration.ofMillis(10);

  private static final Duration MAX_DELAY = Duration.ofMillis(100);
  private static final Duration NANO = Duration.ofNanos(1);

  private FakeTimeMesh mesh;
  private FakeClock clock;
  private AdsTestClient proxy;

  @BeforeEach
  void start() {
    mesh = new FakeTimeMesh();
    clock = mesh.clock;
    for (String service : List.of("greeter", "greeter-v1", "greeter-v2")) {
      mesh.edit(source -> source.upsert(TestObjects.service("demo", service, "http", 50051)));
    }
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7001)));
    mesh.edit(source -> source.upsert(slice("greeter-v1", 7101)));
    mesh.edit(source -> source.upsert(slice("greeter-v2", 7201)));
    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(90, 10)));
    mesh.edit(source -> source.markSynced());
    assertThat(mesh.distributor.serving()).as("the first version is published at once").isTrue();
    clock.forwardTime(Duration.ofSeconds(1));
    proxy = mesh.proxy();
    proxy.openSotw();
  }

  @AfterEach
  void stop() {
    mesh.close();
  }

  @Test
  void aRouteChangeWaitsForTheQuietPeriodAndABurstIsOnePush() throws Exception {
    DiscoveryResponse first = ask(RDS, GREETER);
    clock.forwardTime(Duration.ofMillis(3));
    proxy.send(ack(first, GREETER));
    assertThat(mesh.timer("weft.xds.sync", ResourceType.ROUTE).count()).isEqualTo(1);
    assertThat(totalMillis(mesh.timer("weft.xds.sync", ResourceType.ROUTE))).isEqualTo(3.0);
    double pushed = mesh.pushes(ResourceType.ROUTE);

    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(50, 50)));
    clock.forwardTime(Duration.ofMillis(4));
    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(60, 40)));
    clock.forwardTime(Duration.ofMillis(4));
    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(70, 30)));
    // The quiet period counts from the last edit of the burst.
    clock.forwardTime(QUIET.minus(NANO));
    assertThat(proxy.hasPending()).as("nothing before the registry is quiet").isFalse();

    clock.forwardTime(NANO);
    DiscoveryResponse burst = proxy.nextSotw();
    assertThat(weights(burst)).containsExactly(70, 30);
    clock.forwardTime(Duration.ofMillis(2));
    proxy.send(ack(burst, GREETER));
    clock.forwardTime(Duration.ofSeconds(1));

    assertThat(proxy.hasPending()).as("the burst is one push").isFalse();
    assertThat(mesh.pushes(ResourceType.ROUTE)).isEqualTo(pushed + 1);
    // Convergence is timed from the version's publication, at the end of the quiet period.
    assertThat(mesh.timer("weft.xds.convergence", ResourceType.ROUTE).count()).isEqualTo(1);
    assertThat(totalMillis(mesh.timer("weft.xds.convergence", ResourceType.ROUTE))).isEqualTo(2.0);
  }

  @Test
  void changesThatNeverPauseArePushedAtTheMaxDelay() throws Exception {
    DiscoveryResponse first = ask(RDS, GREETER);
    proxy.send(ack(first, GREETER));
    Duration step = QUIET.dividedBy(2);
    int edits = (int) MAX_DELAY.dividedBy(step);

    for (int i = 1; i <= edits; i++) {
      int weight = i;
      mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(weight, 100 - weight)));
      if (i < edits) {
        clock.forwardTime(step);
        assertThat(proxy.hasPending())
            .as("no push %s after the first edit", step.multipliedBy(i))
            .isFalse();
      }
    }
    // The last edit came at max delay minus one step: the push waits for that, not a quiet period.
    clock.forwardTime(step.minus(NANO));
    assertThat(proxy.hasPending()).isFalse();
    clock.forwardTime(NANO);

    DiscoveryResponse pushed = proxy.nextSotw();
    assertThat(weights(pushed)).containsExactly(edits, 100 - edits);
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(ack(pushed, GREETER));
    assertThat(totalMillis(mesh.timer("weft.xds.convergence", ResourceType.ROUTE))).isEqualTo(1.0);
  }

  @Test
  void anEndpointChangeIsPushedAtOnce() throws Exception {
    DiscoveryResponse first = ask(EDS, GREETER);
    clock.forwardTime(Duration.ofMillis(5));
    proxy.send(ack(first, GREETER));
    long before = clock.nanoTime();

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7002)));

    assertThat(clock.nanoTime()).as("the clock did not move").isEqualTo(before);
    assertThat(proxy.hasPending()).as("pushed with no quiet period").isTrue();
    DiscoveryResponse changed = proxy.nextSotw();
    assertThat(endpoints(changed)).isEqualTo(2);
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(ack(changed, GREETER));
    assertThat(mesh.timer("weft.xds.sync", ResourceType.ENDPOINT).count()).isEqualTo(1);
    assertThat(totalMillis(mesh.timer("weft.xds.sync", ResourceType.ENDPOINT))).isEqualTo(5.0);
    assertThat(mesh.timer("weft.xds.convergence", ResourceType.ENDPOINT).count()).isEqualTo(1);
    assertThat(totalMillis(mesh.timer("weft.xds.convergence", ResourceType.ENDPOINT)))
        .isEqualTo(1.0);
  }

  @Test
  void aChangeWhileAResponseIsUnansweredWaitsForTheAckAndGoesOutWhole() throws Exception {
    DiscoveryResponse first = ask(EDS, GREETER);
    proxy.send(ack(first, GREETER));
    double pushed = mesh.pushes(ResourceType.ENDPOINT);

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7002)));
    DiscoveryResponse unanswered = proxy.nextSotw();
    assertThat(endpoints(unanswered)).isEqualTo(2);
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7003)));
    clock.forwardTime(Duration.ofSeconds(1));
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7004)));
    assertThat(proxy.hasPending())
        .as("nothing more while the proxy has not answered, however long")
        .isFalse();

    clock.forwardTime(Duration.ofMillis(2));
    proxy.send(ack(unanswered, GREETER));

    DiscoveryResponse coalesced = proxy.nextSotw();
    assertThat(endpoints(coalesced)).as("both held-back changes, in one response").isEqualTo(4);
    assertThat(proxy.hasPending()).isFalse();
    assertThat(mesh.pushes(ResourceType.ENDPOINT)).isEqualTo(pushed + 2);
    clock.forwardTime(Duration.ofMillis(3));
    proxy.send(ack(coalesced, GREETER));
    // The first answer came 1 s + 2 ms after its version; the second 2 + 3 ms after the newest
    // version it carries, which was published when the last held-back change came.
    Timer convergence = mesh.timer("weft.xds.convergence", ResourceType.ENDPOINT);
    assertThat(convergence.count()).isEqualTo(2);
    assertThat(totalMillis(convergence)).isEqualTo(1002.0 + 5.0);
    assertThat(convergence.max(TimeUnit.MILLISECONDS)).isEqualTo(1002.0);
  }

  @Test
  void aRejectedVersionIsReportedTheLastGoodOneStaysAndTheNextChangeIsPushed() throws Exception {
    DiscoveryResponse good = ask(RDS, GREETER);
    proxy.send(ack(good, GREETER));
    assertThat(rollout()).contains(new Rollout(1, 1, List.of()));

    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(50, 50)));
    clock.forwardTime(QUIET);
    Instant published = clock.wallClock().instant();
    DiscoveryResponse rejected = proxy.nextSotw();
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(
        ack(rejected, GREETER).toBuilder()
            .setVersionInfo(good.getVersionInfo())
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("route rejected by test"))
            .build());
    clock.forwardTime(Duration.ofSeconds(1));

    assertThat(proxy.hasPending()).as("a rejected version is not sent again").isFalse();
    ProxyStatus status = mesh.distributor.proxies().get(0);
    ProxyStatus.TypeStatus rds = status.types().get(RDS);
    assertThat(rds.ackedVersion()).isEqualTo(good.getVersionInfo());
    assertThat(rds.pendingVersion()).isEmpty();
    assertThat(rds.lastNack().version()).isEqualTo(rejected.getVersionInfo());
    assertThat(rds.lastNack().detail()).isEqualTo("route rejected by test");
    assertThat(rds.lastNack().at()).isEqualTo(published.plusMillis(1));
    assertThat(status.behindSince()).as("behind since the version it lacks").isEqualTo(published);
    assertThat(mesh.meters.get("weft.xds.nacks").tag("type", "route").counter().count())
        .isEqualTo(1.0);
    assertThat(mesh.timer("weft.xds.convergence", ResourceType.ROUTE).count())
        .as("a rejection is no convergence")
        .isZero();
    assertThat(rollout())
        .contains(
            new Rollout(
                1,
                0,
                List.of(
                    new Rollout.Rejected(AdsTestClient.NODE.getId(), "route rejected by test"))));

    // Stale once it has lacked the version for longer than the threshold, not at the threshold.
    Duration staleAfter = mesh.distributor.staleAfter();
    clock.forwardTime(staleAfter.minus(Duration.ofMillis(1)).minus(Duration.ofSeconds(1)));
    assertThat(mesh.distributor.staleProxies()).isZero();
    clock.forwardTime(NANO);
    assertThat(mesh.distributor.staleProxies()).isEqualTo(1);
    assertThat(mesh.meters.get("weft.xds.proxies.stale").gauge().value()).isEqualTo(1.0);

    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(60, 40)));
    clock.forwardTime(QUIET);
    DiscoveryResponse fixed = proxy.nextSotw();
    assertThat(weights(fixed)).containsExactly(60, 40);
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(ack(fixed, GREETER));

    assertThat(rollout()).contains(new Rollout(1, 1, List.of()));
    assertThat(mesh.distributor.staleProxies()).isZero();
    assertThat(mesh.distributor.proxies().get(0).behindSince()).isNull();
    assertThat(totalMillis(mesh.timer("weft.xds.convergence", ResourceType.ROUTE))).isEqualTo(1.0);
  }

  @Test
  void aProxyThatReconnectsGetsTheCurrentState() throws Exception {
    DiscoveryResponse first = ask(EDS, GREETER);
    clock.forwardTime(Duration.ofMillis(2));
    proxy.send(ack(first, GREETER));
    proxy.closeStream();
    assertThat(mesh.distributor.connectedProxies()).isZero();

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7002)));
    clock.forwardTime(Duration.ofSeconds(5));
    Instant reconnected = clock.wallClock().instant();
    proxy.openSotw();
    DiscoveryResponse current = ask(EDS, GREETER);

    assertThat(endpoints(current)).as("what changed while it was away").isEqualTo(2);
    assertThat(current.getVersionInfo()).isNotEqualTo(first.getVersionInfo());
    clock.forwardTime(Duration.ofMillis(4));
    proxy.send(ack(current, GREETER));
    ProxyStatus status = mesh.distributor.proxies().get(0);
    assertThat(status.connectedSince()).isEqualTo(reconnected);
    assertThat(status.types().get(EDS).ackedAt()).isEqualTo(reconnected.plusMillis(4));
    // Its request is what it waited on, not the change 5 s before: a sync, not convergence.
    Timer sync = mesh.timer("weft.xds.sync", ResourceType.ENDPOINT);
    assertThat(sync.count()).isEqualTo(2);
    assertThat(totalMillis(sync)).isEqualTo(2.0 + 4.0);
    assertThat(mesh.timer("weft.xds.convergence", ResourceType.ENDPOINT).count()).isZero();
  }

  @Test
  void aRouteChangeResolvesOnlyTheRouteOnEveryStream() throws Exception {
    proxy.closeStream();
    proxy.openDelta();
    for (ResourceType type : ResourceType.values()) {
      if (type != ResourceType.SECRET) {
        proxy.send(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(AdsTestClient.NODE)
                .setTypeUrl(type.typeUrl())
                .addResourceNamesSubscribe(GREETER)
                .build());
        proxy.send(AdsTestClient.ack(proxy.nextDelta()));
      }
    }
    ResourceCache cache = mesh.distributor.cache();
    long before = publishedVersion();

    mesh.edit(source -> source.upsert(RoutingEndToEndTest.split(50, 50)));
    clock.forwardTime(QUIET);
    DeltaDiscoveryResponse route = proxy.nextDelta();
    assertThat(route.getTypeUrl()).isEqualTo(RDS);
    proxy.send(AdsTestClient.ack(route));
    assertThat(proxy.hasPending()).as("a route change sends the route alone").isFalse();
    long routed = publishedVersion();
    assertThat(routed).isGreaterThan(before);
    // The Listener, the cluster and the load assignment are built from the Service, its
    // endpoints and its policies, which the route left as they were: not looked at again.
    assertThat(resolvedAt(cache, ResourceType.ROUTE)).isEqualTo(routed);
    for (ResourceType type :
        List.of(ResourceType.LISTENER, ResourceType.CLUSTER, ResourceType.ENDPOINT)) {
      assertThat(resolvedAt(cache, type)).as(type.name()).isLessThanOrEqualTo(before);
    }

    // A policy reaches the cluster (and the routes), not the Listener or the endpoints.
    mesh.edit(
        source -> source.upsert(PolicyEndToEndTest.traffic("connectionLimits: {maxRequests: 2}")));
    clock.forwardTime(QUIET);
    acknowledgeEverything();
    long policed = publishedVersion();
    assertThat(resolvedAt(cache, ResourceType.CLUSTER)).isEqualTo(policed);
    assertThat(resolvedAt(cache, ResourceType.ROUTE)).isEqualTo(policed);
    for (ResourceType type : List.of(ResourceType.LISTENER, ResourceType.ENDPOINT)) {
      assertThat(resolvedAt(cache, type)).as(type.name()).isLessThanOrEqualTo(before);
    }

    // A change to the Service itself resolves all four again.
    mesh.edit(source -> source.upsert(TestObjects.service("demo", "greeter", "grpc", 50051)));
    clock.forwardTime(QUIET);
    acknowledgeEverything();
    long reshaped = publishedVersion();
    for (ResourceType type :
        List.of(
            ResourceType.LISTENER,
            ResourceType.ROUTE,
            ResourceType.CLUSTER,
            ResourceType.ENDPOINT)) {
      assertThat(resolvedAt(cache, type)).as(type.name()).isEqualTo(reshaped);
    }
  }

  private long publishedVersion() {
    return mesh.distributor.published().orElseThrow().version();
  }

  /** ACKs every response the delta proxy has been sent, and those its ACKs release. */
  private void acknowledgeEverything() {
    while (proxy.hasPending()) {
      proxy.send(AdsTestClient.ack(proxy.nextDelta()));
    }
  }

  /** The registry version {@code GREETER}'s resource of a type was last resolved at. */
  private static long resolvedAt(ResourceCache cache, ResourceType type) {
    return cache.ref(type, GREETER).resolution().stateVersion();
  }

  @Test
  void aDeltaStreamIsGatedByItsAcksAndKeepsItsFigures() throws Exception {
    proxy.closeStream();
    proxy.openDelta();
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl(EDS)
            .addResourceNamesSubscribe(GREETER)
            .build());
    DeltaDiscoveryResponse first = proxy.nextDelta();
    clock.forwardTime(Duration.ofMillis(2));
    proxy.send(AdsTestClient.ack(first));

    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7002)));
    DeltaDiscoveryResponse unanswered = proxy.nextDelta();
    assertThat(endpoints(unanswered)).as("pushed at once").isEqualTo(2);
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7003)));
    assertThat(proxy.hasPending()).as("held back until the ACK").isFalse();
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(AdsTestClient.ack(unanswered));
    DeltaDiscoveryResponse coalesced = proxy.nextDelta();
    assertThat(endpoints(coalesced)).isEqualTo(3);

    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(
        AdsTestClient.ack(coalesced).toBuilder()
            .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected by test"))
            .build());
    clock.forwardTime(Duration.ofSeconds(1));
    assertThat(proxy.hasPending()).as("a rejected version is not sent again").isFalse();
    mesh.edit(source -> source.upsert(XdsTestbed.backendSlice(7004)));
    DeltaDiscoveryResponse next = proxy.nextDelta();
    assertThat(endpoints(next)).isEqualTo(4);
    clock.forwardTime(Duration.ofMillis(1));
    proxy.send(AdsTestClient.ack(next));

    assertThat(mesh.meters.get("weft.xds.nacks").tag("type", "endpoint").counter().count())
        .isEqualTo(1.0);
    Timer sync = mesh.timer("weft.xds.sync", ResourceType.ENDPOINT);
    assertThat(sync.count()).isEqualTo(1);
    assertThat(totalMillis(sync)).isEqualTo(2.0);
    // Each acknowledged change, 1 ms after its version was published; the rejected one not at all.
    Timer convergence = mesh.timer("weft.xds.convergence", ResourceType.ENDPOINT);
    assertThat(convergence.count()).isEqualTo(2);
    assertThat(totalMillis(convergence)).isEqualTo(2.0);
  }

  @Test
  void endingStreamsSpreadsThemEvenlyOverThePeriod() {
    List<AdsTestClient> proxies = new ArrayList<>(List.of(proxy));
    for (int i = 1; i < 4; i++) {
      clock.forwardTime(Duration.ofMillis(1)); // connected one after the other: the order of ends
      AdsTestClient another = mesh.proxy();
      another.openSotw();
      proxies.add(another);
    }
    for (AdsTestClient each : proxies) {
      each.send(request(EDS, "", "", GREETER));
      each.nextSotw();
    }
    Duration period = Duration.ofMillis(1200);

    CompletableFuture<Void> ended = mesh.distributor.endStreams(period);
    clock.runDueTasks();
    for (int i = 0; i < proxies.size(); i++) {
      if (i > 0) {
        clock.forwardTime(period.dividedBy(proxies.size()).minus(NANO));
        assertThat(proxies.get(i).hasPending()).as("stream %d not ended early", i).isFalse();
        clock.forwardTime(NANO);
      }
      assertThat(proxies.get(i).awaitEnd().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    }
    assertThat(ended).isCompleted();
    assertThat(mesh.distributor.connectedProxies()).isZero();
  }

  private DiscoveryResponse ask(String typeUrl, String... names) {
    proxy.send(request(typeUrl, "", "", names));
    DiscoveryResponse response = proxy.nextSotw();
    assertThat(response.getTypeUrl()).isEqualTo(typeUrl);
    return response;
  }

  private Optional<Rollout> rollout() {
    MeshConfig config = mesh.registry.current().config(ROUTE).orElseThrow();
    return mesh.distributor.rollout(config);
  }

  /** The ACK of {@code response}, repeating the names, as Envoy does. */
  private static DiscoveryRequest ack(DiscoveryResponse response, String... names) {
    return request(response.getTypeUrl(), response.getVersionInfo(), response.getNonce(), names);
  }

  private static DiscoveryRequest request(
      String typeUrl, String version, String nonce, String... names) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(typeUrl)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of(names))
        .build();
  }

  private static io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice slice(
      String service, int port) {
    return TestObjects.slice("demo", service + "-" + port, service, port, "127.0.0.1");
  }

  /** The weights of the route's split, in order. */
  private static List<Integer> weights(DiscoveryResponse response)
      throws InvalidProtocolBufferException {
    RouteConfiguration routes = response.getResources(0).unpack(RouteConfiguration.class);
    WeightedCluster split =
        routes.getVirtualHosts(0).getRoutesList().stream()
            .filter(route -> route.getRoute().hasWeightedClusters())
            .findFirst()
            .orElseThrow()
            .getRoute()
            .getWeightedClusters();
    return split.getClustersList().stream().map(cluster -> cluster.getWeight().getValue()).toList();
  }

  private static int endpoints(DiscoveryResponse response) throws InvalidProtocolBufferException {
    return endpoints(response.getResources(0).unpack(ClusterLoadAssignment.class));
  }

  private static int endpoints(DeltaDiscoveryResponse response)
      throws InvalidProtocolBufferException {
    return endpoints(response.getResources(0).getResource().unpack(ClusterLoadAssignment.class));
  }

  private static int endpoints(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream().mapToInt(l -> l.getLbEndpointsCount()).sum();
  }
}
