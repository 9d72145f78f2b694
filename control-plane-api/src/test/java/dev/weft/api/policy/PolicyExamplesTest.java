package dev.weft.api.policy;

import static dev.weft.api.policy.TrafficPolicyValidationTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.policy.LoadBalancing.Algorithm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The YAML in examples/policies parses into the policy types, validates, and means what it says.
 */
class PolicyExamplesTest {

  // Surefire runs in the module directory; the examples live at the repository root.
  private static final Path EXAMPLES = Path.of("..", "examples", "policies");

  @Test
  void trafficPolicyExample() throws IOException {
    TrafficPolicy policy = read("traffic-policy.yaml", TrafficPolicy.class);

    assertThat(policy.getApiVersion()).isEqualTo("mesh.weft.dev/v1alpha1");
    assertThat(policy.getMetadata().getNamespace()).isEqualTo("bookinfo");
    TrafficPolicyValues values = valid(PolicyValidator.validate(policy));
    assertThat(values.targets())
        .containsExactly(new PolicyTarget("bookinfo", "reviews", Optional.empty()));
    assertThat(values.loadBalancing())
        .contains(
            new LoadBalancing(
                Algorithm.RING_HASH,
                Optional.of(
                    new LoadBalancing.RingHash(new LoadBalancing.Header("x-user-id"), 2048)),
                LoadBalancing.LocalityFailover.ENABLED));
    assertThat(values.circuitBreaker()).contains(new CircuitBreaker(100, 50, 200, 5));
    assertThat(values.outlierDetection())
        .contains(
            new OutlierDetection(
                5, OptionalInt.of(3), Duration.ofSeconds(10), Duration.ofSeconds(30), 50));
    assertThat(values.retry())
        .contains(
            new RetryDefaults(
                3,
                Optional.of(Duration.ofMillis(500)),
                Optional.of(Duration.ofSeconds(2)),
                Duration.ofMillis(25),
                List.of(502, 503),
                List.of("UNAVAILABLE", "RESOURCE_EXHAUSTED")));
  }

  @Test
  void sectionTrafficPolicyExample() throws IOException {
    TrafficPolicy policy = read("traffic-policy-canary-rule.yaml", TrafficPolicy.class);

    TrafficPolicyValues values = valid(PolicyValidator.validate(policy));
    assertThat(values.targets())
        .containsExactly(new PolicyTarget("bookinfo", "reviews", Optional.of("canary")));
    assertThat(values.loadBalancing().orElseThrow().algorithm()).isEqualTo(Algorithm.LEAST_REQUEST);
  }

  @Test
  void grpcFaultPolicyExample() throws IOException {
    FaultPolicy policy = read("fault-policy-grpc.yaml", FaultPolicy.class);

    FaultInjection values = valid(PolicyValidator.validate(policy));
    assertThat(values.delay()).contains(new FaultInjection.Delay(Duration.ofMillis(200), 10));
    assertThat(values.abort())
        .contains(new FaultInjection.Abort(FaultInjection.Protocol.GRPC, 14, 50));
  }

  @Test
  void httpFaultPolicyExample() throws IOException {
    FaultPolicy policy = read("fault-policy-http.yaml", FaultPolicy.class);

    FaultInjection values = valid(PolicyValidator.validate(policy));
    assertThat(values.delay()).isEmpty();
    assertThat(values.abort())
        .contains(new FaultInjection.Abort(FaultInjection.Protocol.HTTP, 503, 0.5));
  }

  @Test
  void rateLimitPolicyExample() throws IOException {
    RateLimitPolicy policy = read("rate-limit-policy.yaml", RateLimitPolicy.class);

    RateLimitValues values = valid(PolicyValidator.validate(policy));
    assertThat(values.targets())
        .containsExactly(new PolicyTarget("bookinfo", "ratings", Optional.empty()));
    assertThat(values.local())
        .isEqualTo(new RateLimitValues.LocalLimit(100, Duration.ofSeconds(1), 200));
  }

  @Test
  void telemetryExample() throws IOException {
    Telemetry telemetry = read("telemetry.yaml", Telemetry.class);

    assertThat(telemetry.getMetadata().getNamespace()).isEqualTo("weft-system");
    TelemetryValues values = valid(PolicyValidator.validate(telemetry));
    assertThat(values)
        .isEqualTo(
            new TelemetryValues(
                OptionalDouble.of(1.0),
                Optional.of(
                    new TelemetryValues.OtlpEndpoint(
                        "otel-collector.observability.svc.cluster.local", 4317))));
  }

  @Test
  void theKindInTheYamlPicksTheType() throws IOException {
    // The kinds are registered for Fabric8's deserializer in META-INF/services.
    Object parsed =
        Policies.SERIALIZATION.unmarshal(
            Files.readString(EXAMPLES.resolve("fault-policy-http.yaml")));

    assertThat(parsed).isInstanceOf(FaultPolicy.class);
  }

  @Test
  void authorizationPolicyExample() throws IOException {
    List<?> documents =
        (List<?>)
            Policies.SERIALIZATION.unmarshal(
                Files.readString(EXAMPLES.resolve("authorization-policy.yaml")));

    AuthorizationRules allow =
        valid(PolicyValidator.validate((AuthorizationPolicy) documents.get(0)));
    AuthorizationRules deny =
        valid(PolicyValidator.validate((AuthorizationPolicy) documents.get(1)));
    assertThat(allow.action()).isEqualTo(AuthorizationPolicySpec.Action.ALLOW);
    assertThat(allow.rules().get(0).from()).hasSize(2);
    assertThat(allow.rules().get(0).to().get(0).paths())
        .containsExactly(
            new Wildcard(Wildcard.Kind.PREFIX, "/shop.Reviews/Get"),
            new Wildcard(Wildcard.Kind.PREFIX, "/shop.Reviews/List"));
    assertThat(deny.action()).isEqualTo(AuthorizationPolicySpec.Action.DENY);
    assertThat(deny.rules().get(0).from().get(0).namespaces())
        .containsExactly(new Wildcard(Wildcard.Kind.SUFFIX, "-test"));
  }

  @Test
  void aPolicySurvivesARoundTripThroughYaml() throws IOException {
    TrafficPolicy policy = read("traffic-policy.yaml", TrafficPolicy.class);

    TrafficPolicy again =
        Policies.SERIALIZATION.unmarshal(
            Policies.SERIALIZATION.asYaml(policy), TrafficPolicy.class);

    assertThat(PolicyValidator.validate(again)).isEqualTo(PolicyValidator.validate(policy));
  }

  @Test
  void sourceIpIsSpelledAsInTheSchema() {
    TrafficPolicy policy = Policies.traffic("loadBalancer: {ringHash: {hashOn: {sourceIP: true}}}");

    assertThat(valid(PolicyValidator.validate(policy)).loadBalancing().orElseThrow().ringHash())
        .contains(new LoadBalancing.RingHash(new LoadBalancing.SourceIp(), 1024));
    assertThat(Policies.SERIALIZATION.asYaml(policy))
        .contains("sourceIP: true")
        .doesNotContain("sourceIp");
  }

  private static <T> T read(String file, Class<T> type) throws IOException {
    return Policies.SERIALIZATION.unmarshal(Files.readString(EXAMPLES.resolve(file)), type);
  }
}
