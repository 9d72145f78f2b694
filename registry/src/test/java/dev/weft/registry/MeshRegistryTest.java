package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MeshRegistryTest {

  private static final ServiceKey REVIEWS = new ServiceKey("shop", "reviews");
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final MeshRegistry registry = MeshRegistry.create();
  private final RegistrySource source = registry.registerSource("test");

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  void serviceWithoutEndpointsIsStillAService() {
    source.upsert(service("reviews", "http", 9080));

    MeshState state = awaitVersion(1);
    assertThat(state.service(REVIEWS)).isPresent();
    assertThat(state.endpoints(REVIEWS).all()).isEmpty();
  }

  @Test
  void endpointsJoinTheirPodsServiceAccountAndLabels() {
    source.upsert(service("reviews", "http", 9080));
    source.upsert(pod("reviews-v2-abc", "reviews", "v2"));
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", "reviews-v2-abc"));

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              List<Endpoint> endpoints = registry.current().endpoints(REVIEWS).all();
              assertThat(endpoints).hasSize(1);
              Endpoint endpoint = endpoints.get(0);
              assertThat(endpoint.address()).isEqualTo("10.0.0.1");
              assertThat(endpoint.port()).isEqualTo(9080);
              assertThat(endpoint.portName()).isEqualTo("http");
              assertThat(endpoint.serviceAccount()).isEqualTo("reviews");
              assertThat(endpoint.labels()).containsEntry("version", "v2");
              assertThat(endpoint.pod()).isEqualTo("reviews-v2-abc");
            });
  }

  @Test
  void podArrivingAfterItsSliceUpdatesTheEndpoint() {
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", "reviews-v1-abc"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).all().size() == 1);
    assertThat(registry.current().endpoints(REVIEWS).all().get(0).serviceAccount()).isEmpty();

    source.upsert(pod("reviews-v1-abc", "reviews-sa", "v1"));

    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(registry.current().endpoints(REVIEWS).all().get(0).serviceAccount())
                    .isEqualTo("reviews-sa"));
  }

  @Test
  void changeSetNamesExactlyWhatChanged() throws InterruptedException {
    source.upsert(service("reviews", "http", 9080));
    source.upsert(service("ratings", "http", 9080));
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", null));
    source.upsert(slice("ratings-1", "ratings", "http", 9080, "10.0.1.1", null));
    await().atMost(WAIT).until(() -> registry.current().endpoints().size() == 2);

    List<ChangeSet> seen = new CopyOnWriteArrayList<>();
    CountDownLatch first = new CountDownLatch(1);
    Subscription subscription =
        registry.subscribe(
            Runnable::run,
            (state, changes) -> {
              seen.add(changes);
              first.countDown();
            });
    try {
      assertThat(first.await(5, TimeUnit.SECONDS)).isTrue();
      // The first delivery names everything.
      assertThat(seen.get(0).services()).containsExactlyInAnyOrder(REVIEWS, ratings());
      long before = registry.current().version();

      source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.2", null));

      await().atMost(WAIT).until(() -> seen.size() == 2);
      ChangeSet change = seen.get(1);
      assertThat(change.services()).isEmpty();
      assertThat(change.endpoints()).containsExactly(REVIEWS);
      assertThat(change.configs()).isEmpty();
      assertThat(registry.current().version()).isEqualTo(before + 1);
    } finally {
      subscription.close();
    }
  }

  @Test
  void unchangedObjectPublishesNothing() {
    source.upsert(service("reviews", "http", 9080));
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", null));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).size() == 1);
    long version = registry.current().version();

    // A relist hands over identical objects; then a real change follows as a marker.
    source.upsert(service("reviews", "http", 9080));
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", null));
    source.upsert(service("marker", "http", 80));

    await().atMost(WAIT).until(() -> registry.current().service(key("marker")).isPresent());
    assertThat(registry.current().version()).isEqualTo(version + 1);
  }

  @Test
  void invalidUpdateKeepsLastGoodVersionAndIsReported() {
    source.upsert(service("reviews", "http", 9080));
    awaitVersion(1);

    Service broken =
        new ServiceBuilder(service("reviews", "http", 9080))
            .editSpec()
            .addNewPort()
            .withName("http")
            .withPort(9090)
            .endPort()
            .endSpec()
            .build();
    source.upsert(broken);

    await().atMost(WAIT).until(() -> !registry.current().rejections().isEmpty());
    MeshState state = registry.current();
    assertThat(state.service(REVIEWS).orElseThrow().ports()).hasSize(1);
    Rejection rejection = state.rejections().iterator().next();
    assertThat(rejection.origin()).isEqualTo("test");
    assertThat(rejection.object()).isEqualTo("Service shop/reviews");
    assertThat(rejection.errors())
        .extracting(Object::toString)
        .containsExactly(
            "spec.ports[1].name: duplicate port name \"http\" (also spec.ports[0].name)");

    source.upsert(service("reviews", "http", 9081));
    await().atMost(WAIT).until(() -> registry.current().rejections().isEmpty());
    assertThat(registry.current().service(REVIEWS).orElseThrow().ports().get(0).port())
        .isEqualTo(9081);
  }

  @Test
  void duplicateAddressAcrossSlicesIsListedOnceWithItsBestCondition() {
    source.upsert(slice("reviews-1", "reviews", "http", 9080, "10.0.0.1", null));
    EndpointSlice notReady =
        new EndpointSliceBuilder(slice("reviews-2", "reviews", "http", 9080, "10.0.0.1", null))
            .editFirstEndpoint()
            .withNewConditions()
            .withReady(false)
            .endConditions()
            .endEndpoint()
            .build();
    source.upsert(notReady);

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              List<Endpoint> all = registry.current().endpoints(REVIEWS).all();
              assertThat(all).hasSize(1);
              assertThat(all.get(0).ready()).isTrue();
            });
  }

  @Test
  void slowSubscriberGetsMergedChangesWithoutBlockingTheWriter() throws InterruptedException {
    ExecutorService slow = Executors.newSingleThreadExecutor();
    CountDownLatch release = new CountDownLatch(1);
    List<ChangeSet> seen = new CopyOnWriteArrayList<>();
    Subscription subscription =
        registry.subscribe(
            slow,
            (state, changes) -> {
              seen.add(changes);
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    try {
      source.upsert(service("s0", "http", 80));
      await().atMost(WAIT).until(() -> seen.size() == 1);
      // The listener is stuck; the registry keeps publishing.
      List<ServiceKey> keys = new ArrayList<>();
      for (int i = 1; i <= 20; i++) {
        source.upsert(service("s" + i, "http", 80));
        keys.add(key("s" + i));
      }
      await().atMost(WAIT).until(() -> registry.current().services().size() == 21);

      release.countDown();
      await().atMost(WAIT).until(() -> seen.size() >= 2);
      ChangeSet merged = seen.get(1);
      for (int i = 2; i < seen.size(); i++) {
        merged = merged.merge(seen.get(i));
      }
      assertThat(merged.services()).containsAll(keys);
      assertThat(seen.size()).isLessThan(21);
    } finally {
      subscription.close();
      slow.shutdownNow();
    }
  }

  @Test
  void syncedOnlyWhenEverySourceHasSynced() {
    RegistrySource other = registry.registerSource("other");
    source.markSynced();
    source.upsert(service("marker", "http", 80));
    // Batches apply in order: once the marker is in, the first source's sync has been applied.
    await().atMost(WAIT).until(() -> registry.current().service(key("marker")).isPresent());
    assertThat(registry.isSynced()).isFalse();

    other.markSynced();
    await().atMost(WAIT).until(registry::isSynced);
  }

  @Test
  void routesAttachToTheirParentServicesAndMoveWithTheirParentRefs() {
    List<ChangeSet> changes = new CopyOnWriteArrayList<>();
    registry.subscribe(Runnable::run, (state, change) -> changes.add(change));
    source.upsert(route("canary", "reviews"));

    MeshState state = awaitVersion(1);
    assertThat(state.attachments(REVIEWS).configs())
        .extracting(config -> config.key().name())
        .containsExactly("canary");
    ServiceAttachments attached = state.attachments(REVIEWS);

    source.upsert(service("reviews", "http", 9080));
    state = awaitVersion(2);
    assertThat(state.attachments(REVIEWS))
        .as("unchanged attachments are shared")
        .isSameAs(attached);

    source.upsert(route("canary", "ratings"));
    state = awaitVersion(3);
    assertThat(state.attachments(REVIEWS)).isEqualTo(ServiceAttachments.NONE);
    assertThat(state.attachments(key("ratings")).configs()).hasSize(1);
    await().atMost(WAIT).until(() -> changes.size() >= 3);
    assertThat(changes.get(2).services()).containsExactlyInAnyOrder(REVIEWS, key("ratings"));

    source.delete(route("canary", "ratings"));
    state = awaitVersion(4);
    assertThat(state.attachments(key("ratings"))).isEqualTo(ServiceAttachments.NONE);
  }

  private static HTTPRoute route(String name, String parent) {
    return new HTTPRouteBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("shop")
        .endMetadata()
        .withNewSpec()
        .addNewParentRef()
        .withGroup("")
        .withKind("Service")
        .withName(parent)
        .endParentRef()
        .addNewRule()
        .addNewBackendRef()
        .withName(parent)
        .withPort(9080)
        .endBackendRef()
        .endRule()
        .endSpec()
        .build();
  }

  private MeshState awaitVersion(long version) {
    await().atMost(WAIT).until(() -> registry.current().version() >= version);
    return registry.current();
  }

  private static ServiceKey key(String name) {
    return new ServiceKey("shop", name);
  }

  private static ServiceKey ratings() {
    return key("ratings");
  }

  private static Service service(String name, String portName, int port) {
    return TestObjects.service("shop", name, portName, port);
  }

  private static EndpointSlice slice(
      String name, String service, String portName, int port, String address, String pod) {
    EndpointSlice slice = TestObjects.slice("shop", name, service, port, address);
    slice.getPorts().get(0).setName(portName);
    slice.getEndpoints().get(0).getTargetRef().setName(pod);
    if (pod == null) {
      slice.getEndpoints().get(0).setTargetRef(null);
    }
    return slice;
  }

  private static Pod pod(String name, String serviceAccount, String version) {
    return TestObjects.pod("shop", name, serviceAccount, version);
  }
}
