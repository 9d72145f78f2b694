package dev.weft.controller;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The application's own background threads: daemon (they never hold the JVM up on shutdown) and
 * named (a thread dump says whose each is).
 */
final class DaemonThreads {

  private DaemonThreads() {}

  /** A scheduler on one daemon thread named {@code name}. */
  static ScheduledExecutorService singleThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, name);
          thread.setDaemon(true);
          return thread;
        });
  }
}
