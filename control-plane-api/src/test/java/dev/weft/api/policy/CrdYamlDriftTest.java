package dev.weft.api.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The chart's CRDs (helm/weft/crds) are the ones the Fabric8 CRD generator writes from the Java
 * types during this build (target/classes/META-INF/fabric8), byte for byte, so the chart never
 * installs a schema the code does not have. When this fails after a change to the types, copy the
 * generated files over the chart's.
 */
class CrdYamlDriftTest {

  // Surefire runs in the module directory.
  private static final Path GENERATED = Path.of("target", "classes", "META-INF", "fabric8");
  private static final Path CHART = Path.of("..", "helm", "weft", "crds");

  @Test
  void chartCrdsEqualTheGeneratedOnes() throws IOException {
    List<String> generated = yamlFiles(GENERATED);
    assertThat(generated)
        .as("CRDs generated into %s", GENERATED)
        .containsExactlyInAnyOrder(
            "authorizationpolicies.mesh.weft.dev-v1.yml",
            "faultpolicies.mesh.weft.dev-v1.yml",
            "meshtlspolicies.mesh.weft.dev-v1.yml",
            "ratelimitpolicies.mesh.weft.dev-v1.yml",
            "telemetries.mesh.weft.dev-v1.yml",
            "trafficpolicies.mesh.weft.dev-v1.yml");

    for (String file : generated) {
      Path checkedIn = CHART.resolve(file);
      assertThat(checkedIn)
          .as("%s is missing: copy %s into %s", checkedIn, GENERATED.resolve(file), CHART)
          .exists();
      assertThat(Files.readString(checkedIn))
          .as("%s differs from the generated %s: copy it over", checkedIn, GENERATED.resolve(file))
          .isEqualTo(Files.readString(GENERATED.resolve(file)));
    }
  }

  @Test
  void chartHasNoWeftCrdThatTheCodeNoLongerGenerates() throws IOException {
    List<String> stale =
        yamlFiles(CHART).stream()
            .filter(file -> file.contains(".mesh.weft.dev-"))
            .filter(file -> !Files.exists(GENERATED.resolve(file)))
            .toList();

    assertThat(stale).as("CRDs in %s with no generated counterpart", CHART).isEmpty();
  }

  private static List<String> yamlFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".yml")).toList();
    }
  }
}
