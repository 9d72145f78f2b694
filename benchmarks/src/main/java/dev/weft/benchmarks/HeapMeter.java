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
      // Objects with a finalizer, such as Netty's OpenSSL contexts (one per TLS channel), are
      // freed only by a collection after their finalizer has run, on a thread of its own: without
      // waiting for it, what a reading finds depends on that thread's timing.
      System.runFinalization();
    }
    return memory.getHeapMemoryUsage().getUsed();
  }
}
