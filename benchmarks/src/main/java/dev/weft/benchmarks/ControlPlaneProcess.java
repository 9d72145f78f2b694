package dev.weft.benchmarks;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The harness's handle on a control plane running in a child JVM ({@link ControlPlaneCommand}).
 * Commands go down its standard input; answers come back on its standard output; its log goes to a
 * file, so that it never blocks on a full pipe.
 *
 * <p>Not thread-safe: the harness drives it from one thread.
 */
final class ControlPlaneProcess implements AutoCloseable {

  /**
   * A reading of the child: heap after full GC, CPU time so far, open ADS streams, resident set (0
   * where unknown).
   */
  record Stats(long heapAfterGc, long cpuNanos, int streams, long residentBytes) {}

  private final Process process;
  private final Writer commands;
  private final BufferedReader answers;

  private ControlPlaneProcess(Process process) {
    this.process = process;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Starts {@code peer} in a JVM of its own, with the same class path as this one, and {@code
   * peerOptions} (see {@link ControlPlaneCommand}).
   */
  static ControlPlaneProcess start(
      ControlPlaneCommand.Peer peer, List<String> peerOptions, Path log, List<String> jvmOptions) {
    String javaBinary = ProcessHandle.current().info().command().orElse("java");
    String classPath = System.getProperty("java.class.path");
    List<String> command = new ArrayList<>();
    command.add(javaBinary);
    command.addAll(jvmOptions);
    if (!classPath.contains(File.pathSeparator) && classPath.endsWith(".jar")) {
      command.addAll(List.of("-jar", classPath)); // the benchmarks' own runnable jar
    } else {
      command.addAll(List.of("-cp", classPath, Benchmarks.class.getName()));
    }
    command.addAll(List.of("control-plane", "--peer", peer.name()));
    command.addAll(peerOptions);
    try {
      Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
      return new ControlPlaneProcess(process);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the " + peer + " control plane", e);
    }
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
    String[] answer = answer("published");
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      nanos[i] = Long.parseLong(answer[i + 1]);
    }
    return nanos;
  }

  /**
   * When the control plane published route changes 0 to {@code count - 1} ({@link
   * System#nanoTime()}); -1 where it has not or cannot say.
   */
  long[] routePublications(int count) {
    send("routes-published " + count);
    String[] answer = answer("routes-published");
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      nanos[i] = Long.parseLong(answer[i + 1]);
    }
    return nanos;
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

  private void send(String command) {
    try {
      commands.write(command);
      commands.write('\n');
      commands.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the control plane process is gone", e);
    }
  }

  private String[] answer(String expected) {
    try {
      String line = answers.readLine();
      // The JVM may print to standard output too (-Xlog, a flight recording): skip its lines.
      while (line != null && line.startsWith("[")) {
        line = answers.readLine();
      }
      if (line == null || !line.startsWith(expected)) {
        throw new IllegalStateException(
            "control plane answered \"" + line + "\" instead of " + expected + "; see its log");
      }
      return line.split(" ");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Kills the child with SIGKILL, as the kernel's OOM killer or a node failure would. */
  void kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the control plane did not die within 20 s of SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing the control plane", e);
    }
  }

  @Override
  public void close() {
    try {
      send("quit");
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (UncheckedIOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
