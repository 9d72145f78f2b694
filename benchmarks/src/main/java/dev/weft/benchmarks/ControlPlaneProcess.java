package dev.weft.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The harness's handle on a control plane running in a child JVM ({@link ControlPlaneCommand}, run
 * as a {@link ChildJvm}).
 *
 * <p>Not thread-safe: the harness drives it from one thread.
 */
final class ControlPlaneProcess implements AutoCloseable {

  /**
   * A reading of the child: heap after full GC, CPU time so far, open ADS streams, resident set (0
   * where unknown).
   */
  record Stats(long heapAfterGc, long cpuNanos, int streams, long residentBytes) {}

  private final ChildJvm child;

  private ControlPlaneProcess(ChildJvm child) {
    this.child = child;
  }

  /**
   * Starts {@code peer} in a JVM of its own, with the same class path as this one, and {@code
   * peerOptions} (see {@link ControlPlaneCommand}).
   */
  static ControlPlaneProcess start(
      ControlPlaneCommand.Peer peer, List<String> peerOptions, Path log, List<String> jvmOptions) {
    List<String> arguments = new ArrayList<>(List.of("control-plane", "--peer", peer.name()));
    arguments.addAll(peerOptions);
    return new ControlPlaneProcess(ChildJvm.start(jvmOptions, arguments, log));
  }

  /** Loads the mesh and starts serving; returns the ADS port. */
  int load(int services, int endpoints) {
    send("load " + services + " " + endpoints);
    String[] answer = answer("ready");
    return Integer.parseInt(answer[1]);
  }

  void moveEndpoint(int service, int endpoint, long change) {
    send("endpoint " + service + " " + endpoint + " " + change);
  }

  void changeRoute(long change) {
    send("route " + change);
  }

  Stats stats() {
    send("stats");
    String[] answer = answer("stats");
    return new Stats(
        Long.parseLong(answer[1]),
        Long.parseLong(answer[2]),
        Integer.parseInt(answer[3]),
        Long.parseLong(answer[4]));
  }

  /** Forgets when the endpoint changes so far were published. */
  void forgetPublications() {
    send("forget");
  }

  /**
   * When the control plane published endpoint changes {@code from} to {@code from + count - 1}
   * ({@link System#nanoTime()}); -1 where it cannot say.
   */
  long[] publications(long from, int count) {
    send("published " + from + " " + count);
    return Publications.parse(answer("published"));
  }

  /**
   * When the control plane published route changes 0 to {@code count - 1} ({@link
   * System#nanoTime()}); -1 where it has not or cannot say.
   */
  long[] routePublications(int count) {
    send("routes-published " + count);
    return Publications.parse(answer("routes-published"));
  }

  /** The child's CPU time so far, read without a collection. */
  long cpuNanos() {
    send("cpu");
    return Long.parseLong(answer("cpu")[1]);
  }

  /** The milliseconds the child's JIT compilers have spent so far. */
  long compilationMillis() {
    send("jit");
    return Long.parseLong(answer("jit")[1]);
  }

  /** Kills the child with SIGKILL, as the kernel's OOM killer or a node failure would. */
  void kill() {
    child.kill();
  }

  @Override
  public void close() {
    child.close();
  }

  private void send(String command) {
    child.send(command);
  }

  private String[] answer(String expected) {
    return child.answer(expected);
  }
}
