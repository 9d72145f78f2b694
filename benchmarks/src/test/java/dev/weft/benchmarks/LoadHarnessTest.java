package dev.weft.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the xDS load harness at a tiny size against both peers, and against Weft over plaintext and
 * mutual TLS, as CI does: every scenario must complete with every proxy configured and no stream
 * errors. The figures are judged on the full run, never here.
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
      assertCompletedEveryScenario(peer);
    }
  }

  /**
   * Over mutual TLS every proxy presents its service account's certificate, which its node's claims
   * must match: a refused or failed handshake would show as an incomplete scenario or a stream
   * error.
   */
  @Test
  @Timeout(60)
  void comparesMutualTlsWithPlaintextAtATinySize() throws Exception {
    Path json = dir.resolve("xds-load-mtls.json");

    int exit =
        Benchmarks.commandLine()
            .execute(
                "xds-load",
                "--mtls",
                "--proxies=10",
                "--services=10",
                "--endpoints=2",
                "--subscriptions=3",
                "--churn-rate=20",
                "--churn-seconds=1",
                "--route-changes=2",
                "--warmup-proxies=2",
                "--warmup-seconds=0",
                "--churn-settle-seconds=0",
                "--child-jvm=-Xmx256m",
                "--json=" + json);

    assertThat(exit).isZero();
    JsonNode result = JsonMapper.builder().build().readTree(json.toFile());
    assertThat(result.get("peers").findValuesAsString("peer")).containsExactly("WEFT", "WEFT_MTLS");
    for (JsonNode peer : result.get("peers")) {
      assertCompletedEveryScenario(peer);
    }
    assertThat(result.get("tls").isString()).isTrue();
    assertThat(result.get("mtlsMinusPlaintext").has("coldStartCpuMillisPerProxy")).isTrue();
  }

  /**
   * Envoy sidecars, in both protocols: seeing the whole mesh, each holds every Service's cluster;
   * scoped to three Services, three (and the passthrough and its inbound cluster); and none of them
   * rejects anything.
   */
  @Test
  @Timeout(120)
  void runsEnvoySidecarsWithAndWithoutScopingAtATinySize() throws Exception {
    for (String[] variant :
        new String[][] {{"SOTW", "0", "22"}, {"DELTA", "3", "5"}}) { // protocol, egress, clusters
      Path json = dir.resolve("xds-load-envoy-" + variant[0] + ".json");

      int exit =
          Benchmarks.commandLine()
              .execute(
                  "xds-load",
                  "--proxy-type=envoy-sidecar",
                  "--protocol=" + variant[0],
                  "--egress-per-proxy=" + variant[1],
                  "--proxies=10",
                  "--services=20",
                  "--endpoints=3",
                  "--churn-rate=20",
                  "--churn-seconds=1",
                  "--route-changes=2",
                  "--warmup-proxies=2",
                  "--warmup-seconds=0",
                  "--churn-settle-seconds=0",
                  "--child-jvm=-Xmx256m",
                  "--json=" + json);

      assertThat(exit).isZero();
      JsonNode result = JsonMapper.builder().build().readTree(json.toFile());
      assertThat(result.get("proxyType").stringValue()).isEqualTo("ENVOY_SIDECAR");
      // The reference peer serves proxyless resources only: Weft alone.
      assertThat(result.get("peers").findValuesAsString("peer")).containsExactly("WEFT");
      JsonNode weft = result.get("peers").get(0);
      assertCompletedEveryScenario(weft);
      assertThat(weft.get("nacks").asInt()).isZero();
      assertThat(weft.get("clustersPerProxy").asDouble())
          .as(variant[0])
          .isEqualTo(Double.parseDouble(variant[2]));
    }
  }

  private static void assertCompletedEveryScenario(JsonNode peer) {
    String name = peer.get("peer").stringValue();
    assertThat(peer.get("streamErrors").asInt()).as(name).isZero();
    for (String scenario :
        new String[] {"coldStart", "endpointChurn", "routeChange", "reconnectStorm"}) {
      assertThat(peer.at("/scenarios/" + scenario + "/complete").asBoolean())
          .as(name + " " + scenario)
          .isTrue();
    }
    assertThat(peer.at("/scenarios/endpointChurn/convergenceMicros/samples").asInt())
        .as(name)
        .isPositive();
    assertThat(peer.at("/scenarios/routeChange/convergenceMicros/samples").asInt())
        .as(name)
        .isEqualTo(2);
  }
}
