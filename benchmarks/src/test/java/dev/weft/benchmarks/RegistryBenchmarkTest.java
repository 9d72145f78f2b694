package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the registry benchmark at a tiny size, as CI does: it must run end to end and report every
 * figure. The figures themselves are judged on the full run, never here.
 */
class RegistryBenchmarkTest {

  @TempDir Path dir;

  @Test
  void runsAtATinySizeAndReportsEveryFigure() throws Exception {
    Path json = dir.resolve("registry.json");

    int exit =
        Benchmarks.commandLine()
            .execute(
                "registry",
                "--services=20",
                "--endpoints=5",
                "--warmup=500",
                "--changes=1000",
                "--rates=5000",
                "--json=" + json);

    assertThat(exit).isZero();
    JsonNode result = JsonMapper.builder().build().readTree(json.toFile());
    assertThat(result.get("endpoints").asInt()).isEqualTo(100);
    assertThat(result.get("retainedBytesPerEndpoint").asDouble()).isPositive();
    assertThat(result.at("/saturated/changes").asInt()).isEqualTo(1000);
    assertThat(result.at("/saturated/latencyMicros/samples").asInt()).isEqualTo(1000);
    assertThat(result.at("/paced/0/offeredRatePerSecond").asInt()).isEqualTo(5000);
    assertThat(result.at("/paced/0/latencyMicros/samples").asInt()).isEqualTo(1000);
  }
}
