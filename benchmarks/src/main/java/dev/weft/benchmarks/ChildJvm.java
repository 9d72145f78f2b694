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
 * A benchmark command running in a JVM of its own, with the same class path as this one, driven
 * line by line: commands go down its standard input, answers come back on its standard output, and
 * its log goes to a file, so that it never blocks on a full pipe. The control planes the harnesses
 * measure run this way, so that their heap and CPU are theirs alone.
 *
 * <p>Not thread-safe: a harness drives it from one thread.
 */
final class ChildJvm implements AutoCloseable {

  private final Process process;
  private final Writer commands;
  private final BufferedReader answers;

  private ChildJvm(Process process) {
    this.process = process;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.answers =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Starts {@link Benchmarks} with {@code arguments} (a subcommand and its options) in a new JVM
   * with {@code jvmOptions}, its standard error going to {@code log}.
   */
  static ChildJvm start(List<String> jvmOptions, List<String> arguments, Path log) {
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
    command.addAll(arguments);
    try {
      return new ChildJvm(new ProcessBuilder(command).redirectError(log.toFile()).start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + arguments.get(0) + " in a child JVM", e);
    }
  }

  void send(String command) {
    try {
      commands.write(command);
      commands.write('\n');
      commands.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the control plane process is gone", e);
    }
  }

  /** The next answer, split at spaces; it must start with {@code expected}. */
  String[] answer(String expected) {
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

  /** Asks the child to quit, and kills it if it has not within 20 s. */
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
