package dev.weft.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The harness's handle on {@link FloorControlPlaneCommand} in a child JVM ({@link ChildJvm}).
 *
 * <p>Not thread-safe: the harness drives it from one thread.
 */
final class FloorControlPlane implements AutoCloseable {

  private final ChildJvm child;
  private final int port;

  private FloorControlPlane(ChildJvm child) {
    this.child = child;
    this.port = Integer.parseInt(child.answer("ready")[1]);
  }

  /**
   * Starts the control plane with the same class path as this JVM, reading the mesh as {@code
   * sourceOptions} say ({@code --api-server URL} or {@code --config-dir DIR}), and waits until it
   * has synced and serves ADS.
   */
  static FloorControlPlane start(List<String> sourceOptions, Path log, List<String> jvmOptions) {
    List<String> arguments = new ArrayList<>(List.of("floor-control-plane"));
    arguments.addAll(sourceOptions);
    ChildJvm child = ChildJvm.start(jvmOptions, arguments, log);
    try {
      return new FloorControlPlane(child);
    } catch (RuntimeException e) {
      child.kill();
      throw e;
    }
  }

  /** The port ADS is served on. */
  int port() {
    return port;
  }

  /**
   * When Weft published endpoint changes {@code from} to {@code from + count - 1} ({@link
   * System#nanoTime()}); -1 where it has not.
   */
  long[] publications(long from, int count) {
    send("published " + from + " " + count);
    return Publications.parse(answer("published"));
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
