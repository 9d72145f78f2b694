package dev.weft.registry;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Shares one instance among equal values, such as the zone, node and label map that thousands of
 * endpoints repeat, so the registry holds each distinct value once.
 *
 * <p>Best effort and bounded: when the table outgrows {@code maximumSize} it is cleared. Values
 * already shared stay shared; later duplicates start new canonical instances. So memory stays
 * bounded however many distinct values pass through (nodes come and go), and a lookup is one
 * concurrent-map read, without the reference processing a weak interner costs the garbage
 * collector.
 *
 * <p>Thread-safe: a {@link ConcurrentHashMap}; a race at the bound only loses some sharing.
 */
final class Interner<T> {

  private final int maximumSize;
  private final ConcurrentHashMap<T, T> canonical = new ConcurrentHashMap<>();

  Interner(int maximumSize) {
    if (maximumSize <= 0) {
      throw new IllegalArgumentException("maximumSize must be positive: " + maximumSize);
    }
    this.maximumSize = maximumSize;
  }

  T intern(T value) {
    T existing = canonical.get(value);
    if (existing != null) {
      return existing;
    }
    if (canonical.size() >= maximumSize) {
      canonical.clear();
    }
    existing = canonical.putIfAbsent(value, value);
    return existing == null ? value : existing;
  }
}
