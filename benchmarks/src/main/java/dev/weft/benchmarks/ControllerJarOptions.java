package dev.weft.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import picocli.CommandLine.Option;

/**
 * Which controller jar a benchmark starts in a child JVM, and its heap: a picocli mixin of the
 * benchmarks that run the application as it is deployed.
 */
final class ControllerJarOptions {

  @Option(
      names = "--jar",
      defaultValue = "controller/target/weft-controller.jar",
      description = "The controller's jar (default ${DEFAULT-VALUE}).")
  Path jar;

  @Option(
      names = "--xmx",
      defaultValue = "512m",
      description = "The controller's maximum heap (default ${DEFAULT-VALUE}).")
  String maxHeap;

  /** What is wrong with the jar option, in one line, or null. */
  String problem() {
    if (!Files.isRegularFile(jar)) {
      return "--jar: no controller jar at "
          + jar.toAbsolutePath()
          + " (build it: mvn -q -DskipTests -pl controller -am package)";
    }
    return null;
  }

  /** The jar and how old it is, for the report: a stale jar measures old code. */
  String describe() throws IOException {
    FileTime modified = Files.getLastModifiedTime(jar);
    long minutes = Duration.between(modified.toInstant(), Instant.now()).toMinutes();
    return jar
        + " (built "
        + modified.toInstant().truncatedTo(ChronoUnit.SECONDS)
        + ", "
        + minutes
        + " min before the run)";
  }
}
