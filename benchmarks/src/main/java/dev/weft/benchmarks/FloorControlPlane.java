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
 * The harness's handle on {@link FloorControlPlaneCommand} in a child JVM: commands down its
 * standard input, answers up its standard output, its log in a file so it never blocks on a full
 * pipe.
 *
 * <p>Not thread-safe: the harness drives it from one thread.
 */
final class FloorControlPlane implements AutoCloseable {

  private final Process process;
  private final Writer commands;
  private final BufferedReader answers;
  private final int port;

  private FloorControlPlane(Process process) {
    this.process = process;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    this.port = Integer.parseInt(answer("ready")[1]);
  }

  /**
   * Starts the control plane with the same class path as this JVM, reading the mesh as {@code
   * sourceOptions} say ({@code --api-server URL} or {@code --config-dir DIR}), and waits until it
   * has synced and serves ADS.
   */
  static FloorControlPlane start(List<String> sourceOptions, Path log, List<String> jvmOptions) {
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
    command.add("floor-control-plane");
    command.addAll(sourceOptions);
    Process process;
    try {
      process = new ProcessBuilder(command).redirectError(log.toFile()).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the control plane", e);
    }
    try {
      return new FloorControlPlane(process);
    } catch (RuntimeException e) {
      process.destroyForcibly();
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
    String[] answer = answer("published");
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      nanos[i] = Long.parseLong(answer[i + 1]);
    }
    return nanos;
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
      // The JVM may print to standard output too (-Xlog): skip its lines.
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
