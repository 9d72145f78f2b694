package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.TestObjects;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Egress hosts as sidecars declare them, the views they resolve to, and the outbound Listener the
 * resource cache builds once per view and change of its Services.
 */
class EgressViewTest {

  private final MeshRegistry registry = MeshRegistry.create();
  private final RegistrySource source = registry.registerSource("test");

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  void entriesAreNamespaceSlashServiceWithStarsAndTheProxysOwnNamespace() {
    assertThat(EgressHosts.split(" shop/checkout,./*\n*/ledger ,, "))
        .containsExactly("shop/checkout", "./*", "*/ledger");
    assertThat(EgressHosts.parse(List.of("shop/checkout", "./*", "*/ledger", "*/*")))
        .isEqualTo(
            Validated.valid(
                List.of(
                    new EgressHosts.Host("shop", "checkout"),
                    new EgressHosts.Host(".", "*"),
                    new EgressHosts.Host("*", "ledger"),
                    new EgressHosts.Host("*", "*"))));
  }

  @Test
  void eachInvalidEntryIsNamedWithWhatIsWrong() {
    assertThat(
            EgressHosts.parse(
                    List.of("checkout.shop", "Shop/checkout", "shop/check*", "shop/a/b", "ok/x"))
                .errors())
        .containsExactly(
            new FieldError(
                "egress[0]",
                "\"checkout.shop\" is not <namespace>/<service> (such as shop/checkout, shop/*,"
                    + " */checkout or ./*)"),
            new FieldError(
                "egress[1]",
                "\"Shop/checkout\": \"Shop\" is not a namespace name, \"*\" (any) or \".\" (the"
                    + " proxy's own)"),
            new FieldError(
                "egress[2]", "\"shop/check*\": \"check*\" is not a Service name or \"*\" (any)"),
            new FieldError(
                "egress[3]",
                "\"shop/a/b\" is not <namespace>/<service> (such as shop/checkout, shop/*,"
                    + " */checkout or ./*)"));
  }

  @Test
  void declarationsOfTheSameServicesAreOneView() {
    EgressView own = view("shop", "./*", "*/ledger");
    EgressView spelledOut = view("web", "*/ledger", "shop/checkout", "shop/*", "*/ledger");

    assertThat(own).isEqualTo(spelledOut).hasSameHashCodeAs(spelledOut);
    assertThat(own.entries()).containsExactly("*/ledger", "shop/*");
    assertThat(own.includes(new ServiceKey("shop", "cart"))).isTrue();
    assertThat(own.includes(new ServiceKey("bank", "ledger"))).isTrue();
    assertThat(own.includes(new ServiceKey("bank", "teller"))).isFalse();
    assertThat(view("shop", "*/*", "shop/cart")).isSameAs(EgressView.ALL);
    assertThat(view("shop")).isSameAs(EgressView.ALL);
  }

  @Test
  void theOwnNamespaceNeedsANamespace() {
    assertThat(EgressView.of(List.of(new EgressHosts.Host(".", "*")), "").errors())
        .containsExactly(
            new FieldError(
                "egress[0]", "\"./*\": the node names no NAMESPACE for \".\" to stand for"));
  }

  @Test
  void aViewIsBuiltOncePerChangeOfItsServicesHoweverManySidecarsAskAtOnce() throws Exception {
    ResourceCache cache =
        new ResourceCache(new ResourceNames("cluster.local"), MutualTls.DISABLED, "weft-system");
    EgressView shop = view("web", "shop/*");
    source.upsert(TestObjects.service("shop", "cart", "http", 8080));
    source.upsert(TestObjects.service("bank", "ledger", "grpc", 9090));
    MeshState first = awaitState(state -> state.services().size() == 2);
    ResourceCache.OutboundView before = cache.outbound(first, shop);

    // A Service outside the view: the same Listener, carried over to the new snapshot.
    source.upsert(TestObjects.service("bank", "teller", "grpc", 9091));
    MeshState second = awaitState(state -> state.services().size() == 3);
    ResourceCache.OutboundView carried = cache.outbound(second, shop);
    assertThat(carried.listener()).isSameAs(before.listener());
    assertThat(carried.clusters()).isSameAs(before.clusters());

    // One in it: eight sidecars of the view ask at once, and all get one new build.
    source.upsert(TestObjects.service("shop", "checkout", "http", 8081));
    MeshState third = awaitState(state -> state.services().size() == 4);
    List<ResourceCache.OutboundView> built = askAtOnce(8, () -> cache.outbound(third, shop));

    assertThat(built).allSatisfy(view -> assertThat(view).isSameAs(built.get(0)));
    assertThat(built.get(0).listener()).isNotSameAs(before.listener());
    assertThat(built.get(0).clusters())
        .extracting(ResourceRef::name)
        .containsExactly(
            "cart.shop.svc.cluster.local:8080", "checkout.shop.svc.cluster.local:8081");
    // The whole mesh's view is another copy, and as shared.
    assertThat(cache.outbound(third, EgressView.ALL))
        .isSameAs(cache.outbound(third, EgressView.ALL))
        .isNotSameAs(built.get(0));
  }

  private static EgressView view(String namespace, String... entries) {
    var hosts = (Validated.Valid<List<EgressHosts.Host>>) EgressHosts.parse(List.of(entries));
    return ((Validated.Valid<EgressView>) EgressView.of(hosts.value(), namespace)).value();
  }

  private MeshState awaitState(java.util.function.Predicate<MeshState> condition) {
    source.markSynced();
    return await().atMost(Duration.ofSeconds(10)).until(registry::current, condition);
  }

  private static <T> List<T> askAtOnce(int callers, java.util.function.Supplier<T> ask)
      throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(callers);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<CompletableFuture<T>> answers = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        answers.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    start.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  return ask.get();
                },
                threads));
      }
      start.countDown();
      List<T> results = new ArrayList<>();
      for (CompletableFuture<T> answer : answers) {
        results.add(answer.get(10, TimeUnit.SECONDS));
      }
      return results;
    } finally {
      threads.shutdownNow();
    }
  }
}
