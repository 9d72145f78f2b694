package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PersistentMapTest {

  /** A key whose hash the test chooses, to force collisions and deep tries. */
  private record Key(String name, int hash) {
    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Key k && k.name.equals(name);
    }
  }

  @Test
  void behavesLikeAHashMapUnderRandomOperations() {
    Random random = new Random(42);
    for (int hashBits : new int[] {3, 10, 32}) {
      Map<Key, Integer> expected = new HashMap<>();
      PersistentMap<Key, Integer> actual = PersistentMap.empty();
      for (int step = 0; step < 20_000; step++) {
        int id = random.nextInt(500);
        int hash = hashBits == 32 ? Integer.rotateLeft(id * 0x9E3779B9, 7) : id % (1 << hashBits);
        Key key = new Key("k" + id, hash);
        if (random.nextInt(3) == 0) {
          expected.remove(key);
          actual = actual.minus(key);
        } else {
          int value = random.nextInt(1000);
          expected.put(key, value);
          actual = actual.plus(key, value);
        }
        if (step % 997 == 0) {
          assertThat(actual).isEqualTo(expected);
        }
      }
      assertThat(actual).isEqualTo(expected);
      assertThat(actual.size()).isEqualTo(expected.size());
      for (Key key : expected.keySet()) {
        assertThat(actual.get(key)).isEqualTo(expected.get(key));
      }
      // Remove everything: the map must empty out completely.
      for (Key key : new ArrayList<>(expected.keySet())) {
        actual = actual.minus(key);
      }
      assertThat(actual).isEmpty();
      assertThat(actual.entrySet().iterator().hasNext()).isFalse();
    }
  }

  @Test
  void updatesLeaveOlderVersionsUntouched() {
    PersistentMap<String, Integer> v1 = PersistentMap.<String, Integer>empty().plus("a", 1);
    PersistentMap<String, Integer> v2 = v1.plus("b", 2).plus("a", 10);
    PersistentMap<String, Integer> v3 = v2.minus("b");

    assertThat(v1).containsExactly(Map.entry("a", 1));
    assertThat(v2).containsOnly(Map.entry("a", 10), Map.entry("b", 2));
    assertThat(v3).containsOnly(Map.entry("a", 10));
  }

  @Test
  void noOpUpdatesReturnTheSameMap() {
    Integer one = 1;
    PersistentMap<String, Integer> map = PersistentMap.<String, Integer>empty().plus("a", one);

    assertThat(map.plus("a", one)).isSameAs(map);
    assertThat(map.minus("missing")).isSameAs(map);
  }

  @Test
  void fullHashCollisionsKeepEveryEntry() {
    List<Key> keys = new ArrayList<>();
    PersistentMap<Key, String> map = PersistentMap.empty();
    for (int i = 0; i < 10; i++) {
      Key key = new Key("same-hash-" + i, 0xCAFE);
      keys.add(key);
      map = map.plus(key, "v" + i);
    }
    assertThat(map).hasSize(10);
    for (int i = 0; i < 10; i++) {
      assertThat(map.get(keys.get(i))).isEqualTo("v" + i);
    }
    for (int i = 0; i < 9; i++) {
      map = map.minus(keys.get(i));
    }
    assertThat(map).containsOnly(Map.entry(keys.get(9), "v9"));
  }
}
