package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.weft.registry.MeshRegistry;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The limits on what an xDS client sends, each attacked through a real gRPC client: the stream ends
 * with a status that names the limit and its setting, the refusal is counted, and other proxies are
 * served as before.
 */
class XdsLimitsTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";

  private XdsTestbed mesh;
  private final List<AutoCloseable> clients = new ArrayList<>();

  private void start(
      UnaryOperator<ConfigDistributor.Builder> settings,
      UnaryOperator<XdsServer.Builder> serverSettings) {
    mesh = new XdsTestbed(settings, serverSettings);
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
  }

  private void start() {
    start(UnaryOperator.identity(), UnaryOperator.identity());
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable client : clients) {
      client.close();
    }
    if (mesh != null) {
      mesh.close();
    }
  }

  @Test
  void stateOfTheWorldRequestNamingMoreThanTheDefaultLimitIsRefused() {
    start();
    AdsTestClient attacker = sotwClient();
    attacker.send(sotw(CDS, madeUpNames(StreamLimits.DEFAULT_NAMES_PER_REQUEST + 1)));

    Status status = attacker.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("at most 10000 resources", "weft.xds.limits.max-names-per-request", "10001");
    assertRefused("names_per_request");
    assertOtherProxiesAreServed();
  }

  @Test
  void stateOfTheWorldRequestAtTheDefaultLimitIsServed() {
    start();
    AdsTestClient proxy = sotwClient();
    List<String> names = madeUpNames(StreamLimits.DEFAULT_NAMES_PER_REQUEST - 1);
    names.add(GREETER);
    proxy.send(sotw(CDS, names));

    // A cluster named for a Service that does not exist is served without endpoints.
    assertThat(proxy.nextSotw().getResourcesCount())
        .isEqualTo(StreamLimits.DEFAULT_NAMES_PER_REQUEST);
    assertThat(refusals()).isZero();
  }

  @Test
  void deltaRequestNamingMoreThanTheLimitIsRefused() {
    start(d -> d.maxNamesPerRequest(100), UnaryOperator.identity());
    AdsTestClient attacker = deltaClient();
    attacker.send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl(EDS)
            .addAllResourceNamesSubscribe(madeUpNames(60))
            .putAllInitialResourceVersions(
                madeUpNames(41).stream().collect(Collectors.toMap(n -> n + "-held", n -> "1")))
            .build());

    Status status = attacker.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("at most 100 resources", "weft.xds.limits.max-names-per-request", "101");
    assertRefused("names_per_request");
    assertOtherProxiesAreServed();
  }

  @Test
  void stateOfTheWorldStreamSubscribedToMoreThanTheLimitIsRefused() {
    start(d -> d.maxNamesPerRequest(3).maxNamesPerStream(4), UnaryOperator.identity());
    AdsTestClient attacker = sotwClient();
    attacker.send(sotw(CDS, List.of(GREETER, "a.demo.svc.cluster.local:80", "b.demo:80")));
    assertThat(attacker.nextSotw().getTypeUrl()).isEqualTo(CDS);
    // Each type's request replaces that type's names: the stream holds 3 + 2.
    attacker.send(sotw(EDS, List.of(GREETER, "c.demo.svc.cluster.local:80")));

    Status status = attacker.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("at most 4 resource names", "weft.xds.limits.max-names-per-stream", "make it 5");
    assertRefused("names_per_stream");
    assertOtherProxiesAreServed();
  }

  @Test
  void deltaStreamSubscribedToMoreThanTheLimitIsRefusedAndUnsubscribingMakesRoom() {
    start(d -> d.maxNamesPerRequest(3).maxNamesPerStream(4), UnaryOperator.identity());
    AdsTestClient attacker = deltaClient();
    attacker.send(subscribe(GREETER, "a.demo:80", "b.demo:80"));
    assertThat(attacker.nextDelta().getTypeUrl()).isEqualTo(EDS);
    attacker.send(
        DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(EDS)
            .addResourceNamesUnsubscribe("a.demo:80")
            .addResourceNamesUnsubscribe("b.demo:80")
            .build());
    attacker.send(subscribe("c.demo:80", "d.demo:80", "e.demo:80")); // 4: at the limit
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> subscribed(EDS).size() == 4 && refusals() == 0);
    attacker.send(subscribe("f.demo:80")); // accumulates: 5

    Status status = attacker.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("at most 4 resource names", "weft.xds.limits.max-names-per-stream", "make it 5");
    assertRefused("names_per_stream");
    assertOtherProxiesAreServed();
  }

  @Test
  void stateOfTheWorldNameLongerThanTheLimitIsRefused() {
    start();
    AdsTestClient proxy = sotwClient();
    String longest = "n".repeat(StreamLimits.DEFAULT_NAME_LENGTH);
    proxy.send(sotw(CDS, List.of(longest)));
    assertThat(proxy.nextSotw().getResourcesCount()).as("does not exist, but asks").isZero();

    // Two bytes per character in UTF-8: 257 characters, 514 bytes.
    proxy.send(sotw(EDS, List.of("é".repeat(StreamLimits.DEFAULT_NAME_LENGTH / 2 + 1))));
    Status status = proxy.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("at most 512 bytes", "weft.xds.limits.max-name-length", "one of 514");
    assertRefused("name_length");
    assertOtherProxiesAreServed();
  }

  @Test
  void deltaNameLongerThanTheLimitIsRefusedWhereverTheRequestCarriesIt() {
    start(d -> d.maxNameLength(64), UnaryOperator.identity());
    AdsTestClient proxy = deltaClient();
    proxy.send(
        DeltaDiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl(EDS)
            .addResourceNamesSubscribe(GREETER)
            .addResourceNamesUnsubscribe("u".repeat(65))
            .build());

    Status status = proxy.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("at most 64 bytes", "weft.xds.limits.max-name-length", "one of 65");
    assertRefused("name_length");
    assertOtherProxiesAreServed();
  }

  @Test
  void messageLargerThanTheDefaultLimitIsRefusedByTheServer() {
    start();
    AdsTestClient attacker = sotwClient();
    attacker.send(
        DiscoveryRequest.newBuilder()
            .setNode(AdsTestClient.NODE)
            .setTypeUrl(CDS)
            .setVersionInfo("v".repeat(4 * 1024 * 1024))
            .build());

    Status status = attacker.awaitEnd();

    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).contains("exceeds maximum size 4194304");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertRefused("message_size"));
    assertOtherProxiesAreServed();
  }

  @Test
  void connectionCarriesAtMostTheStreamLimitAndFurtherStreamsWait() throws Exception {
    start(UnaryOperator.identity(), s -> s.maxStreamsPerConnection(2));
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress(
                "localhost", mesh.xdsPort(), InsecureChannelCredentials.create())
            .build();
    clients.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    RawStream first = new RawStream(channel);
    RawStream second = new RawStream(channel);
    first.send(sotw(CDS, List.of(GREETER)));
    assertThat(first.next().getResourcesCount()).isEqualTo(1);
    second.send(sotw(CDS, List.of(GREETER)));
    assertThat(second.next().getResourcesCount()).isEqualTo(1);

    RawStream third = new RawStream(channel);
    third.send(sotw(CDS, List.of(GREETER)));
    // A round trip on the second stream, after the third was opened: the server has seen all the
    // connection sent before it, and no third stream among it.
    second.send(sotw(EDS, List.of(GREETER)));
    assertThat(second.next().getTypeUrl()).isEqualTo(EDS);
    assertThat(mesh.distributor.connectedProxies()).isEqualTo(2);
    assertThat(third.received).isEmpty();

    first.requests.onCompleted();
    assertThat(third.next().getResourcesCount()).as("served once a stream ended").isEqualTo(1);
    assertOtherProxiesAreServed();
  }

  @Test
  void settingsRejectBadValuesAtOnce() {
    try (MeshRegistry registry = MeshRegistry.create()) {
      ConfigDistributor.Builder distributor = ConfigDistributor.builder(registry);
      assertThatThrownBy(() -> distributor.maxNamesPerRequest(0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> distributor.maxNamesPerStream(0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> distributor.maxNameLength(-1))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> distributor.maxNamesPerRequest(10).maxNamesPerStream(9).build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("maxNamesPerStream (9)");
    }
    start();
    XdsServer.Builder server = XdsServer.builder(mesh.distributor);
    assertThatThrownBy(() -> server.maxMessageSize(1023))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> server.maxStreamsPerConnection(1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ADS and an LRS stream");
  }

  private AdsTestClient sotwClient() {
    AdsTestClient client = new AdsTestClient(mesh.xdsPort());
    clients.add(client);
    client.openSotw();
    return client;
  }

  private AdsTestClient deltaClient() {
    AdsTestClient client = new AdsTestClient(mesh.xdsPort());
    clients.add(client);
    client.openDelta();
    return client;
  }

  /** A proxy that connects now is served as if nothing happened. */
  private void assertOtherProxiesAreServed() {
    try (AdsTestClient other = new AdsTestClient(mesh.xdsPort())) {
      other.openSotw();
      other.send(sotw(CDS, List.of(GREETER)));
      assertThat(other.nextSotw().getResourcesCount()).isEqualTo(1);
    }
  }

  private void assertRefused(String reason) {
    assertThat(mesh.meters.get("weft.xds.refused").tag("reason", reason).counter().count())
        .isEqualTo(1.0);
    assertThat(refusals()).isEqualTo(1);
  }

  private int refusals() {
    return (int)
        mesh.meters.get("weft.xds.refused").counters().stream().mapToDouble(c -> c.count()).sum();
  }

  private List<String> subscribed(String typeUrl) {
    return mesh.distributor.proxies().get(0).types().get(typeUrl).subscribed();
  }

  private static List<String> madeUpNames(int count) {
    return new ArrayList<>(
        IntStream.range(0, count)
            .mapToObj(i -> "made-up-" + i + ".demo.svc.cluster.local:80")
            .toList());
  }

  private static DiscoveryRequest sotw(String typeUrl, List<String> names) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(typeUrl)
        .addAllResourceNames(names)
        .build();
  }

  private static DeltaDiscoveryRequest subscribe(String... names) {
    return DeltaDiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(EDS)
        .addAllResourceNamesSubscribe(List.of(names))
        .build();
  }

  /** One state-of-the-world stream on a shared channel. */
  private static final class RawStream {
    final BlockingQueue<DiscoveryResponse> received = new LinkedBlockingQueue<>();
    final StreamObserver<DiscoveryRequest> requests;

    RawStream(ManagedChannel channel) {
      requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      received.add(response);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
    }

    void send(DiscoveryRequest request) {
      requests.onNext(request);
    }

    DiscoveryResponse next() throws InterruptedException {
      DiscoveryResponse response = received.poll(10, TimeUnit.SECONDS);
      assertThat(response).as("a response within 10 s").isNotNull();
      return response;
    }
  }
}
