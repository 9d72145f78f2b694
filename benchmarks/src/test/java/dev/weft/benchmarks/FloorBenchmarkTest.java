package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs xds-floor at a tiny size through both sources, as CI does: every change must reach every
 * proxy (the command exits 1 otherwise). The figures are judged on the full run, never here.
 */
class FloorBenchmarkTest {

  @Test
  @Timeout(120)
  void everyChangeReachesEveryProxyThroughTheApiServerAndTheDirectory() {
    int exit =
        Benchmarks.commandLine()
            .execute(
                "xds-floor",
                "--proxies=1,3",
                "--services=3",
                "--endpoints=2",
                "--changes=3",
                "--warmup=1",
                "--pause-ms=0",
                "--child-jvm=-Xmx256m");

    assertThat(exit).isZero();
  }

  @Test
  void refusesProxyCountsThatAreNotAscendingWithOneLineNamingTheOption() {
    StringWriter errors = new StringWriter();
    int exit =
        Benchmarks.commandLine()
            .setErr(new PrintWriter(errors))
            .execute("xds-floor", "--proxies=200,1");

    assertThat(exit).isEqualTo(2);
    assertThat(errors.toString().lines().findFirst().orElseThrow())
        .isEqualTo("--proxies: counts must be positive and ascending, got [200, 1]");
  }
}
