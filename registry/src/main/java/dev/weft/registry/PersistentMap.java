package dev.weft.registry;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable hash map whose updates return a new map that shares all unchanged structure with the
 * old one: a CHAMP trie (Steindorfer and Vinju, "Optimizing Hash-Array Mapped Tries for Fast and
 * Lean Immutable JVM Collections", OOPSLA 2015).
 *
 * <p>Why our own: registry snapshots are built by replacing one entry at a time, tens of thousands
 * of times a second, and what each replacement allocates is what the garbage collector pays for
 * later. Here {@link #plus} copies one small array per trie level (two levels for a thousand keys),
 * without boxing hashes or rebalancing, which cut the registry's allocation per endpoint change by
 * more than half compared with a balanced-tree map.
 *
 * <p>Layout: each node has a bitmap of the 32 hash slots that hold an entry inline and a bitmap of
 * those that hold a child node; one array holds the inline keys and values (in pairs) followed by
 * the children. Keys whose 32-bit hashes are equal end in a collision node. A removal that leaves a
 * child with one entry pulls that entry up, so equal maps have equal shapes.
 *
 * <p>The mutators of {@link java.util.Map} throw; use {@link #plus} and {@link #minus}. Immutable,
 * so thread-safe. Null keys and values are not allowed.
 */
final class PersistentMap<K, V> extends AbstractMap<K, V> {

  private static final int BITS = 5;
  private static final int MASK = (1 << BITS) - 1;
  private static final int MAX_SHIFT = 30;

  @SuppressWarnings("rawtypes")
  private static final PersistentMap EMPTY =
      new PersistentMap<>(new BitmapNode(0, 0, new Object[0]), 0);

  private final Node root;
  private final int size;
  private Set<Entry<K, V>> entries;

  private PersistentMap(Node root, int size) {
    this.root = root;
    this.size = size;
  }

  @SuppressWarnings("unchecked")
  static <K, V> PersistentMap<K, V> empty() {
    return EMPTY;
  }

  /** Returns a map holding {@code entries}. */
  static <K, V> PersistentMap<K, V> copyOf(Map<? extends K, ? extends V> entries) {
    PersistentMap<K, V> map = empty();
    for (Entry<? extends K, ? extends V> entry : entries.entrySet()) {
      map = map.plus(entry.getKey(), entry.getValue());
    }
    return map;
  }

  /** Returns this map with {@code key} mapped to {@code value}; this map when it already was. */
  PersistentMap<K, V> plus(K key, V value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Change change = new Change();
    Node updated = root.put(key, value, hash(key), 0, change);
    if (updated == root) {
      return this;
    }
    return new PersistentMap<>(updated, change.added ? size + 1 : size);
  }

  /** Returns this map without {@code key}; this map when it had no such key. */
  PersistentMap<K, V> minus(Object key) {
    if (key == null) {
      return this;
    }
    Node updated = root.remove(key, hash(key), 0);
    if (updated == root) {
      return this;
    }
    if (updated.isSingleton()) {
      // A single entry pulled up from deeper in the trie: place it at its root slot.
      Object remaining = updated.keyAt(0);
      updated =
          new BitmapNode(
              1 << slot(hash(remaining), 0), 0, new Object[] {remaining, updated.valueAt(0)});
    }
    return new PersistentMap<>(updated, size - 1);
  }

  /** Returns this map without any of {@code keys}. */
  PersistentMap<K, V> minusAll(Iterable<?> keys) {
    PersistentMap<K, V> map = this;
    for (Object key : keys) {
      map = map.minus(key);
    }
    return map;
  }

  @Override
  @SuppressWarnings("unchecked")
  public V get(Object key) {
    return key == null ? null : (V) root.find(key, hash(key), 0);
  }

  @Override
  public V getOrDefault(Object key, V defaultValue) {
    V value = get(key);
    return value == null ? defaultValue : value;
  }

  @Override
  public boolean containsKey(Object key) {
    return get(key) != null;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public boolean isEmpty() {
    return size == 0;
  }

  @Override
  public Set<Entry<K, V>> entrySet() {
    Set<Entry<K, V>> result = entries;
    if (result == null) {
      result =
          new AbstractSet<>() {
            @Override
            public Iterator<Entry<K, V>> iterator() {
              return new EntryIterator<>(root);
            }

            @Override
            public int size() {
              return size;
            }
          };
      entries = result;
    }
    return result;
  }

  private static int hash(Object key) {
    int h = key.hashCode();
    return h ^ (h >>> 16);
  }

  private static int slot(int hash, int shift) {
    return (hash >>> shift) & MASK;
  }

  private static int indexOf(int bitmap, int bit) {
    return Integer.bitCount(bitmap & (bit - 1));
  }

  /** Whether a put added a key rather than replaced a value. */
  private static final class Change {
    boolean added;
  }

  private abstract static class Node {
    abstract Object find(Object key, int hash, int shift);

    abstract Node put(Object key, Object value, int hash, int shift, Change change);

    abstract Node remove(Object key, int hash, int shift);

    abstract int inlineCount();

    abstract int childCount();

    abstract Object keyAt(int index);

    abstract Object valueAt(int index);

    abstract Node childAt(int index);

    /** Whether this node holds exactly one entry inline and nothing else. */
    final boolean isSingleton() {
      return inlineCount() == 1 && childCount() == 0;
    }
  }

  private static final class BitmapNode extends Node {
    private final int dataMap;
    private final int nodeMap;
    private final Object[] array;

    BitmapNode(int dataMap, int nodeMap, Object[] array) {
      this.dataMap = dataMap;
      this.nodeMap = nodeMap;
      this.array = array;
    }

    @Override
    int inlineCount() {
      return Integer.bitCount(dataMap);
    }

    @Override
    int childCount() {
      return Integer.bitCount(nodeMap);
    }

    @Override
    Object keyAt(int index) {
      return array[2 * index];
    }

    @Override
    Object valueAt(int index) {
      return array[2 * index + 1];
    }

    @Override
    Node childAt(int index) {
      return (Node) array[2 * inlineCount() + index];
    }

    @Override
    Object find(Object key, int hash, int shift) {
      int bit = 1 << slot(hash, shift);
      if ((dataMap & bit) != 0) {
        int index = indexOf(dataMap, bit);
        return key.equals(keyAt(index)) ? valueAt(index) : null;
      }
      if ((nodeMap & bit) != 0) {
        return childAt(indexOf(nodeMap, bit)).find(key, hash, shift + BITS);
      }
      return null;
    }

    @Override
    Node put(Object key, Object value, int hash, int shift, Change change) {
      int bit = 1 << slot(hash, shift);
      if ((dataMap & bit) != 0) {
        int index = indexOf(dataMap, bit);
        Object existingKey = keyAt(index);
        if (key.equals(existingKey)) {
          Object existingValue = valueAt(index);
          if (existingValue == value) {
            return this;
          }
          Object[] copy = array.clone();
          copy[2 * index + 1] = value;
          return new BitmapNode(dataMap, nodeMap, copy);
        }
        change.added = true;
        Node child =
            pair(existingKey, valueAt(index), hash(existingKey), key, value, hash, shift + BITS);
        return inlineToChild(bit, index, child);
      }
      if ((nodeMap & bit) != 0) {
        int index = indexOf(nodeMap, bit);
        Node child = childAt(index);
        Node updated = child.put(key, value, hash, shift + BITS, change);
        if (updated == child) {
          return this;
        }
        Object[] copy = array.clone();
        copy[2 * inlineCount() + index] = updated;
        return new BitmapNode(dataMap, nodeMap, copy);
      }
      change.added = true;
      int index = indexOf(dataMap, bit);
      Object[] copy = new Object[array.length + 2];
      System.arraycopy(array, 0, copy, 0, 2 * index);
      copy[2 * index] = key;
      copy[2 * index + 1] = value;
      System.arraycopy(array, 2 * index, copy, 2 * index + 2, array.length - 2 * index);
      return new BitmapNode(dataMap | bit, nodeMap, copy);
    }

    @Override
    Node remove(Object key, int hash, int shift) {
      int bit = 1 << slot(hash, shift);
      if ((dataMap & bit) != 0) {
        int index = indexOf(dataMap, bit);
        if (!key.equals(keyAt(index))) {
          return this;
        }
        Object[] copy = new Object[array.length - 2];
        System.arraycopy(array, 0, copy, 0, 2 * index);
        System.arraycopy(array, 2 * index + 2, copy, 2 * index, array.length - 2 * index - 2);
        return new BitmapNode(dataMap ^ bit, nodeMap, copy);
      }
      if ((nodeMap & bit) != 0) {
        int index = indexOf(nodeMap, bit);
        Node child = childAt(index);
        Node updated = child.remove(key, hash, shift + BITS);
        if (updated == child) {
          return this;
        }
        if (updated.isSingleton()) {
          if (inlineCount() == 0 && childCount() == 1) {
            return updated; // this node would hold only that entry: let the parent inline it
          }
          return childToInline(bit, index, updated.keyAt(0), updated.valueAt(0));
        }
        Object[] copy = array.clone();
        copy[2 * inlineCount() + index] = updated;
        return new BitmapNode(dataMap, nodeMap, copy);
      }
      return this;
    }

    private Node inlineToChild(int bit, int dataIndex, Node child) {
      int inline = inlineCount();
      int nodeIndex = indexOf(nodeMap, bit);
      Object[] copy = new Object[array.length - 1];
      // inline pairs before and after the moved one
      System.arraycopy(array, 0, copy, 0, 2 * dataIndex);
      System.arraycopy(array, 2 * dataIndex + 2, copy, 2 * dataIndex, 2 * (inline - dataIndex - 1));
      // children, with the new one at its position
      int childrenFrom = 2 * inline;
      int childrenTo = 2 * (inline - 1);
      System.arraycopy(array, childrenFrom, copy, childrenTo, nodeIndex);
      copy[childrenTo + nodeIndex] = child;
      System.arraycopy(
          array,
          childrenFrom + nodeIndex,
          copy,
          childrenTo + nodeIndex + 1,
          array.length - childrenFrom - nodeIndex);
      return new BitmapNode(dataMap ^ bit, nodeMap | bit, copy);
    }

    private Node childToInline(int bit, int nodeIndex, Object key, Object value) {
      int inline = inlineCount();
      int dataIndex = indexOf(dataMap, bit);
      Object[] copy = new Object[array.length + 1];
      System.arraycopy(array, 0, copy, 0, 2 * dataIndex);
      copy[2 * dataIndex] = key;
      copy[2 * dataIndex + 1] = value;
      System.arraycopy(array, 2 * dataIndex, copy, 2 * dataIndex + 2, 2 * (inline - dataIndex));
      int childrenFrom = 2 * inline;
      int childrenTo = 2 * (inline + 1);
      System.arraycopy(array, childrenFrom, copy, childrenTo, nodeIndex);
      System.arraycopy(
          array,
          childrenFrom + nodeIndex + 1,
          copy,
          childrenTo + nodeIndex,
          array.length - childrenFrom - nodeIndex - 1);
      return new BitmapNode(dataMap | bit, nodeMap ^ bit, copy);
    }
  }

  /** Builds the smallest subtree holding two entries whose hashes first differ at {@code shift}. */
  private static Node pair(
      Object key0, Object value0, int hash0, Object key1, Object value1, int hash1, int shift) {
    if (shift > MAX_SHIFT) {
      return new CollisionNode(hash0, new Object[] {key0, value0, key1, value1});
    }
    int slot0 = slot(hash0, shift);
    int slot1 = slot(hash1, shift);
    if (slot0 == slot1) {
      Node child = pair(key0, value0, hash0, key1, value1, hash1, shift + BITS);
      return new BitmapNode(0, 1 << slot0, new Object[] {child});
    }
    Object[] array =
        slot0 < slot1
            ? new Object[] {key0, value0, key1, value1}
            : new Object[] {key1, value1, key0, value0};
    return new BitmapNode((1 << slot0) | (1 << slot1), 0, array);
  }

  /** Entries whose full 32-bit hashes are equal, in a flat array of key-value pairs. */
  private static final class CollisionNode extends Node {
    private final int hash;
    private final Object[] array;

    CollisionNode(int hash, Object[] array) {
      this.hash = hash;
      this.array = array;
    }

    @Override
    int inlineCount() {
      return array.length / 2;
    }

    @Override
    int childCount() {
      return 0;
    }

    @Override
    Object keyAt(int index) {
      return array[2 * index];
    }

    @Override
    Object valueAt(int index) {
      return array[2 * index + 1];
    }

    @Override
    Node childAt(int index) {
      throw new IndexOutOfBoundsException(index);
    }

    @Override
    Object find(Object key, int hash, int shift) {
      for (int i = 0; i < array.length; i += 2) {
        if (key.equals(array[i])) {
          return array[i + 1];
        }
      }
      return null;
    }

    @Override
    Node put(Object key, Object value, int hash, int shift, Change change) {
      for (int i = 0; i < array.length; i += 2) {
        if (key.equals(array[i])) {
          if (array[i + 1] == value) {
            return this;
          }
          Object[] copy = array.clone();
          copy[i + 1] = value;
          return new CollisionNode(this.hash, copy);
        }
      }
      change.added = true;
      Object[] copy = Arrays.copyOf(array, array.length + 2);
      copy[array.length] = key;
      copy[array.length + 1] = value;
      return new CollisionNode(this.hash, copy);
    }

    @Override
    Node remove(Object key, int hash, int shift) {
      for (int i = 0; i < array.length; i += 2) {
        if (key.equals(array[i])) {
          Object[] copy = new Object[array.length - 2];
          System.arraycopy(array, 0, copy, 0, i);
          System.arraycopy(array, i + 2, copy, i, array.length - i - 2);
          if (copy.length == 2) {
            // One entry left: a bitmap node the parent can inline.
            return new BitmapNode(1 << slot(this.hash, 0), 0, copy);
          }
          return new CollisionNode(this.hash, copy);
        }
      }
      return this;
    }
  }

  /** Walks the trie depth first with an explicit stack; a trie of ints is at most 7 deep. */
  private static final class EntryIterator<K, V> implements Iterator<Entry<K, V>> {
    private final Node[] nodes = new Node[8];
    private final int[] positions = new int[8];
    private int depth;
    private Node current;
    private int inlineIndex;

    EntryIterator(Node root) {
      current = root;
      nodes[0] = root;
    }

    @Override
    public boolean hasNext() {
      while (true) {
        if (inlineIndex < current.inlineCount()) {
          return true;
        }
        int child = positions[depth];
        if (child < current.childCount()) {
          positions[depth] = child + 1;
          depth++;
          current = current.childAt(child);
          nodes[depth] = current;
          positions[depth] = 0;
          inlineIndex = 0;
          continue;
        }
        if (depth == 0) {
          return false;
        }
        depth--;
        current = nodes[depth];
        inlineIndex = current.inlineCount();
      }
    }

    @Override
    @SuppressWarnings("unchecked")
    public Entry<K, V> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Entry<K, V> entry =
          new SimpleImmutableEntry<>(
              (K) current.keyAt(inlineIndex), (V) current.valueAt(inlineIndex));
      inlineIndex++;
      return entry;
    }
  }
}
