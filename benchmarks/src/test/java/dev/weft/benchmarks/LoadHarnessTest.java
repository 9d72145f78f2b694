package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the xDS load harness at a tiny size against both peers, as CI does: every scenario must
 * complete with every proxy configured and no stream errors. The figures are judged on the full
 * run, never here.
 */
class LoadHarnessTest {

  @TempDir Path dir;

  @Test
  @Timeout(180)
  void runsBothPeersAtATinySizeAndCompletesEveryScenario() throws Exception {
    Path json = dir.resolve("xds-load.json");

    int exit =
        Benchmarks.commandLine()
            .execute(
                "xds-load",
                "--proxies=10",
                "--services=20",
                "--endpoints=3",
                "--subscriptions=5",
                "--churn-rate=20",
                "--churn-seconds=1",
                "--route-changes=2",
                "--warmup-proxies=2",
                "--warmup-seconds=0",
                "--churn-settle-seconds=1",
                "--child-jvm=-Xmx256m",
                "--json=" + json);

    assertThat(exit).isZero();
    JsonNode result = JsonMapper.builder().build().readTree(json.toFile());
    assertThat(result.get("peers")).hasSize(2);
    for (JsonNode peer : result.get("peers")) {
      assertThat(peer.get("streamErrors").asInt()).as(peer.get("peer").asText()).isZero();
      for (String scenario :
          new String[] {"coldStart", "endpointChurn", "routeChange", "reconnectStorm"}) {
        assertThat(peer.at("/scenarios/" + scenario + "/complete").asBoolean())
            .as(peer.get("peer").asText() + " " + scenario)
            .isTrue();
      }
      assertThat(peer.at("/scenarios/endpointChurn/convergenceMicros/samples").asInt())
          .isPositive();
      assertThat(peer.at("/scenarios/routeChange/convergenceMicros/samples").asInt()).isEqualTo(2);
    }
  }
}
