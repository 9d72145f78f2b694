package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the CA benchmark at a tiny size, as CI does: it must run end to end and report every figure.
 * The figures themselves are judged on the full run, never here.
 */
class CaBenchmarkTest {

  @TempDir Path dir;

  @Test
  void runsAtATinySizeAndReportsEveryFigure() throws Exception {
    Path json = dir.resolve("ca.json");

    int exit =
        Benchmarks.commandLine()
            .execute(
                "ca",
                "--warmup=50",
                "--rounds=2",
                "--raw=100",
                "--csrs=100",
                "--threads=2",
                "--rate=1000",
                "--paced=50",
                "--json=" + json);

    assertThat(exit).isZero();
    JsonNode result = JsonMapper.builder().build().readTree(json.toFile());
    assertThat(result.at("/raw/signsPerSecond").asLong()).isPositive();
    assertThat(result.at("/raw/limitIssuancesPerSecondOneCore").asLong()).isPositive();
    assertThat(result.at("/singleThread/csrs").asInt()).isEqualTo(100);
    assertThat(result.at("/multiThread/threads").asInt()).isEqualTo(2);
    assertThat(result.at("/multiThread/csrsPerSecond").asLong()).isPositive();
    assertThat(result.get("singleThreadPercentOfRawLimit").asDouble()).isPositive();
    assertThat(result.at("/paced/latencyMicros/samples").asInt()).isEqualTo(50);
  }
}
