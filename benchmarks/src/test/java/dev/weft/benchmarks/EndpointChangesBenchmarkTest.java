package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The endpoint-changes command refuses bad options with one line naming the option, before it
 * starts anything. (Its run needs the controller's jar and is judged on its figures, not here.)
 */
class EndpointChangesBenchmarkTest {

  @TempDir Path dir;

  @Test
  void badOptionsAreRefusedWithOneLineNamingTheOption() throws Exception {
    Path jar = Files.writeString(dir.resolve("weft-controller.jar"), "not started");

    assertThat(refusal("--jar=" + dir.resolve("missing.jar")))
        .startsWith("--jar: no controller jar");
    assertThat(refusal("--jar=" + jar, "--cycles=0")).startsWith("--cycles must be at least 1");
    assertThat(refusal("--jar=" + jar, "--backends=0")).startsWith("--backends must be between");
    assertThat(refusal("--jar=" + jar, "--callers=4", "--rate=2")).startsWith("--callers");
    assertThat(refusal("--jar=" + jar, "--quiet-ms=1")).startsWith("--quiet-ms");
  }

  /** The one line the command prints for these options, checking it exits as for bad input. */
  private static String refusal(String... options) {
    StringWriter err = new StringWriter();
    CommandLine command = Benchmarks.commandLine().setErr(new PrintWriter(err, true));
    String[] arguments = new String[options.length + 1];
    arguments[0] = "endpoint-changes";
    System.arraycopy(options, 0, arguments, 1, options.length);

    int exit = command.execute(arguments);

    assertThat(exit).isEqualTo(command.getCommandSpec().exitCodeOnInvalidInput());
    assertThat(err.toString().lines()).hasSize(1);
    return err.toString();
  }
}
