package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.registry.ServiceKey;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WatcherIndexTest {

  private static final ServiceKey A = new ServiceKey("demo", "a");
  private static final ServiceKey B = new ServiceKey("demo", "b");

  private final WatcherIndex index = new WatcherIndex();
  private final ConfigWatcher first = (version, changes) -> {};
  private final ConfigWatcher second = (version, changes) -> {};
  private final ConfigWatcher third = (version, changes) -> {};

  @Test
  void aChangeConcernsExactlyTheWatchersOfItsServices() {
    index.add(first);
    index.add(second);
    index.update(first, List.of(A), List.of());
    index.update(second, List.of(A, B), List.of());

    assertThat(index.concerned(List.of(A), List.of(), true, Set.of()))
        .containsExactlyInAnyOrder(first, second);
    assertThat(index.concerned(List.of(B), List.of(), true, Set.of())).containsExactly(second);
    assertThat(index.concerned(List.of(A), List.of(B), true, Set.of()))
        .containsExactlyInAnyOrder(first, second);

    index.update(second, List.of(), List.of(A));

    assertThat(index.concerned(List.of(A), List.of(), true, Set.of())).containsExactly(first);
    assertThat(index.all()).containsExactlyInAnyOrder(first, second);
  }

  @Test
  void aReusedSlotInheritsNothingFromTheWatcherThatLeft() {
    index.add(first);
    index.update(first, List.of(A), List.of());
    index.watchAll(first);
    index.remove(first, List.of(A));

    index.add(second);
    index.update(first, List.of(B), List.of()); // a stream that already closed: ignored

    assertThat(index.concerned(List.of(A), List.of(B), true, Set.of())).isEmpty();
    assertThat(index.all()).containsExactly(second);
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void wildcardWatchersSeeEveryChangeAndSlotsGrowPastTheirFirstArray() {
    List<ConfigWatcher> many =
        java.util.stream.IntStream.range(0, 200)
            .<ConfigWatcher>mapToObj(i -> (version, changes) -> {})
            .toList();
    many.forEach(index::add);
    index.add(third);
    index.watchAll(third);
    index.update(many.get(199), List.of(A), List.of());

    assertThat(index.concerned(List.of(B), List.of(), true, Set.of())).containsExactly(third);
    assertThat(index.concerned(List.of(A), List.of(), true, Set.of()))
        .containsExactlyInAnyOrder(third, many.get(199));
  }

  @Test
  void aViewWatcherSeesItsViewsEndpointsAndStructuralChangesOnly() {
    index.add(first);
    index.watchView(first);
    index.update(first, List.of(A), List.of());

    // Endpoints of a Service in its view, or a Service added anywhere (its view may take it in).
    assertThat(index.concerned(List.of(), List.of(A), false, Set.of())).containsExactly(first);
    assertThat(index.concerned(List.of(B), List.of(), true, Set.of())).containsExactly(first);
    // Endpoints of a Service outside its view: not woken, unless its own Pod is among them.
    assertThat(index.concerned(List.of(), List.of(B), false, Set.of("demo/web-1"))).isEmpty();
    index.watchPod(first, "demo", "web-0");
    assertThat(index.concerned(List.of(), List.of(B), false, Set.of("demo/web-0")))
        .containsExactly(first);
  }
}
