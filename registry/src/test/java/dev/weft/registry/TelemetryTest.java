package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import dev.weft.registry.model.PolicyValues;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A Telemetry decodes into its values, a namespace's overrides the root namespace's field by field,
 * the oldest of two in one namespace applies, and its status says so.
 */
class TelemetryTest {

  private static final String ROOT = "weft-system";
  private static final KubernetesSerialization YAML = new KubernetesSerialization();
  private static final TelemetryValues.OtlpEndpoint MESH_COLLECTOR =
      new TelemetryValues.OtlpEndpoint("otel-collector.observability.svc.cluster.local", 4317);

  private final ManifestParser parser = new ManifestParser();
  private final ResourceDecoder decoder = new ResourceDecoder();
  private final MeshRegistry registry = MeshRegistry.create();
  private final RegistrySource source = registry.registerSource("test");

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  void decodesIntoItsValues() throws ManifestParser.SyntaxError {
    Validated<Mutation> decoded =
        decode(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: Telemetry
            metadata: {name: mesh-default, namespace: weft-system}
            spec:
              tracing:
                randomSamplingPercentage: 2.5
                otlp: {endpoint: otel-collector.observability.svc.cluster.local:4317}
            """);

    MeshConfig config =
        ((Mutation.PutConfig) ((Validated.Valid<Mutation>) decoded).value()).config();
    assertThat(config.key()).isEqualTo(new ObjectKey(ResourceKind.TELEMETRY, ROOT, "mesh-default"));
    assertThat(config.policy())
        .contains(
            new PolicyValues.Telemetry(
                new TelemetryValues(OptionalDouble.of(2.5), Optional.of(MESH_COLLECTOR))));
    assertThat(Attachment.servicesOf(config)).containsExactly(ServiceKey.namespaceWide(ROOT));
  }

  @Test
  void anInvalidTelemetryIsRejectedWithItsFieldErrors() throws ManifestParser.SyntaxError {
    Validated<Mutation> decoded =
        decode(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: Telemetry
            metadata: {name: broken, namespace: shop}
            spec:
              tracing: {randomSamplingPercentage: 150, otlp: {endpoint: "collector"}}
            """);

    assertThat(decoded.errors())
        .containsExactly(
            new FieldError("spec.tracing.randomSamplingPercentage", "150 is outside 0..100"),
            new FieldError(
                "spec.tracing.otlp.endpoint",
                "\"collector\" is not host:port (such as otel-collector.observability:4317)"));
  }

  @Test
  void aNamespacesTelemetryOverridesTheMeshWideOneFieldByField() {
    source.upsert(telemetry(ROOT, "mesh-default", null, "1", MESH_COLLECTOR.toString()));
    source.upsert(telemetry("shop", "debugging", null, "100", null));
    source.upsert(telemetry("payments", "own-collector", null, null, "jaeger.payments:4317"));
    await().atMost(Duration.ofSeconds(5)).until(() -> configs() == 3);

    MeshState state = registry.current();
    assertThat(state.tracing("shop", ROOT))
        .contains(new TelemetryValues.Tracing(100, MESH_COLLECTOR));
    assertThat(state.tracing("payments", ROOT))
        .contains(
            new TelemetryValues.Tracing(
                1, new TelemetryValues.OtlpEndpoint("jaeger.payments", 4317)));
    assertThat(state.tracing("default", ROOT))
        .as("a namespace without a Telemetry of its own")
        .contains(new TelemetryValues.Tracing(1, MESH_COLLECTOR));
    assertThat(state.tracing(ROOT, ROOT)).contains(new TelemetryValues.Tracing(1, MESH_COLLECTOR));
    assertThat(state.tracing("shop", "another-root"))
        .as("no collector in shop's own Telemetry, and none mesh-wide")
        .isEmpty();
  }

  @Test
  void theOldestTelemetryOfANamespaceAppliesAndTheOtherIsConflicted() {
    source.upsert(telemetry("shop", "newer", "2026-11-02T00:00:00Z", "100", "a.example:4317"));
    source.upsert(telemetry("shop", "older", "2026-11-01T00:00:00Z", "5", "b.example:4317"));
    await().atMost(Duration.ofSeconds(5)).until(() -> configs() == 2);

    MeshState state = registry.current();
    assertThat(state.tracing("shop", ROOT))
        .contains(
            new TelemetryValues.Tracing(5, new TelemetryValues.OtlpEndpoint("b.example", 4317)));
    assertThat(accepted(state, "older"))
        .isEqualTo(
            new ConfigCondition("Accepted", true, "Accepted", ConfigStatus.TELEMETRY_ACCEPTED));
    assertThat(accepted(state, "newer"))
        .isEqualTo(
            new ConfigCondition(
                "Accepted",
                false,
                "Conflicted",
                "Telemetry shop/older also targets every Service of namespace shop and takes"
                    + " precedence: it was created earlier (2026-11-01T00:00:00Z)"));
    assertThat(ConfigStatus.TELEMETRY_ACCEPTED)
        .contains("proxyless gRPC workloads set up their own");
  }

  @Test
  void removingTheWinnerLetsTheOtherApply() {
    source.upsert(telemetry("shop", "newer", "2026-11-02T00:00:00Z", "100", "a.example:4317"));
    source.upsert(telemetry("shop", "older", "2026-11-01T00:00:00Z", "5", "b.example:4317"));
    await().atMost(Duration.ofSeconds(5)).until(() -> configs() == 2);

    source.delete(new ObjectKey(ResourceKind.TELEMETRY, "shop", "older"));
    await().atMost(Duration.ofSeconds(5)).until(() -> configs() == 1);

    assertThat(registry.current().tracing("shop", ROOT))
        .contains(
            new TelemetryValues.Tracing(100, new TelemetryValues.OtlpEndpoint("a.example", 4317)));
    assertThat(accepted(registry.current(), "newer").status()).isTrue();
  }

  private int configs() {
    return registry.current().configs().size();
  }

  private static ConfigCondition accepted(MeshState state, String name) {
    return ConfigStatus.of(state, new ObjectKey(ResourceKind.TELEMETRY, "shop", name)).get(0);
  }

  private static Telemetry telemetry(
      String namespace, String name, String createdAt, String percentage, String endpoint) {
    StringBuilder tracing = new StringBuilder();
    if (percentage != null) {
      tracing.append("randomSamplingPercentage: ").append(percentage);
    }
    if (endpoint != null) {
      tracing
          .append(tracing.length() > 0 ? ", " : "")
          .append("otlp: {endpoint: '" + endpoint + "'}");
    }
    Telemetry telemetry =
        YAML.unmarshal(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: Telemetry
            metadata: {name: %s, namespace: %s}
            spec:
              tracing: {%s}
            """
                .formatted(name, namespace, tracing),
            Telemetry.class);
    telemetry.getMetadata().setCreationTimestamp(createdAt);
    return telemetry;
  }

  private Validated<Mutation> decode(String yaml) throws ManifestParser.SyntaxError {
    ManifestParser.Parsed parsed = (ManifestParser.Parsed) parser.parse(yaml).get(0);
    return decoder.decode(parsed.key(), parsed.object());
  }
}
