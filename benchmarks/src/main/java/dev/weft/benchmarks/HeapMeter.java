package dev.weft.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/** Heap in use after full collections: what a data structure retains, not what it churns. */
final class HeapMeter {

  private static final int COLLECTIONS = 3;

  private HeapMeter() {}

  static long usedAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < COLLECTIONS; i++) {
      System.gc();
    }
    return memory.getHeapMemoryUsage().getUsed();
  }
}
