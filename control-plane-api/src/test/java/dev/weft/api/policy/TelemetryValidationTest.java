package dev.weft.api.policy;

import static dev.weft.api.policy.Policies.telemetrySpec;
import static dev.weft.api.policy.TrafficPolicyValidationTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TelemetryValidationTest {

  private static final String ENDPOINT = "spec.tracing.otlp.endpoint";
  private static final String PERCENTAGE = "spec.tracing.randomSamplingPercentage";

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of(
            "tracing: {randomSamplingPercentage: 101}", PERCENTAGE, "101 is outside 0..100"),
        Arguments.of(
            "tracing: {randomSamplingPercentage: -0.5}", PERCENTAGE, "-0.5 is outside 0..100"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'http://otel-collector:4317'}}",
            ENDPOINT,
            "\"http://otel-collector:4317\" is a URL; give host:port without a scheme (proxies"
                + " speak OTLP over gRPC to it)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: otel-collector}}",
            ENDPOINT,
            "\"otel-collector\" is not host:port (such as otel-collector.observability:4317)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'otel-collector:'}}",
            ENDPOINT,
            "\"otel-collector:\" is not host:port (such as otel-collector.observability:4317)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'otel-collector:0'}}",
            ENDPOINT,
            "port \"0\" is not a number from 1 to 65535"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'otel-collector:65536'}}",
            ENDPOINT,
            "port \"65536\" is not a number from 1 to 65535"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'otel-collector:grpc'}}",
            ENDPOINT,
            "port \"grpc\" is not a number from 1 to 65535"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'otel_collector.observability:4317'}}",
            ENDPOINT,
            "host \"otel_collector.observability\" is not a DNS name or an IPv4 address (an IPv6"
                + " address goes in brackets)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: '-collector:4317'}}",
            ENDPOINT,
            "host \"-collector\" is not a DNS name or an IPv4 address (an IPv6 address goes in"
                + " brackets)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: 'fd00::1:4317'}}",
            ENDPOINT,
            "host \"fd00::1\" is not a DNS name or an IPv4 address (an IPv6 address goes in"
                + " brackets)"),
        Arguments.of(
            "tracing: {otlp: {endpoint: '[collector]:4317'}}",
            ENDPOINT,
            "\"[collector]\" is not an IPv6 address in brackets"),
        Arguments.of(
            "tracing: {otlp: {}}",
            ENDPOINT,
            "required: host:port of the collector's OTLP/gRPC receiver"),
        Arguments.of(
            "tracing: {}",
            "spec.tracing",
            "sets nothing: give randomSamplingPercentage, otlp, or both"),
        Arguments.of(
            "tracing: null",
            "spec.tracing",
            "required: give randomSamplingPercentage, otlp, or both"));
  }

  @ParameterizedTest(name = "{0} -> {1}: {2}")
  @MethodSource("rejected")
  void rejects(String spec, String path, String reason) {
    assertThat(PolicyValidator.validate(telemetrySpec("  " + spec + "\n")).errors())
        .containsExactly(new FieldError(path, reason));
  }

  @Test
  void reportsEveryErrorAtOnce() {
    Telemetry telemetry =
        telemetrySpec(
            "  tracing: {randomSamplingPercentage: 200, otlp: {endpoint: 'collector:99999'}}\n");

    assertThat(PolicyValidator.validate(telemetry).errors())
        .containsExactly(
            new FieldError(PERCENTAGE, "200 is outside 0..100"),
            new FieldError(ENDPOINT, "port \"99999\" is not a number from 1 to 65535"));
  }

  @Test
  void rejectsAMissingSpec() {
    assertThat(PolicyValidator.validate(new Telemetry()).errors())
        .containsExactly(new FieldError("spec", "required"));
  }

  static Stream<Arguments> endpoints() {
    return Stream.of(
        Arguments.of(
            "otel-collector.observability.svc.cluster.local:4317",
            "otel-collector.observability.svc.cluster.local",
            4317),
        Arguments.of("otel-collector:4317", "otel-collector", 4317),
        Arguments.of("10.96.0.12:4317", "10.96.0.12", 4317),
        Arguments.of("[fd00::12]:4317", "fd00::12", 4317),
        Arguments.of("collector.example.com.:65535", "collector.example.com.", 65535));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("endpoints")
  void acceptsAnEndpoint(String endpoint, String host, int port) {
    TelemetryValues values =
        valid(
            PolicyValidator.validate(
                telemetrySpec("  tracing: {otlp: {endpoint: '" + endpoint + "'}}\n")));

    assertThat(values.otlp()).contains(new TelemetryValues.OtlpEndpoint(host, port));
    assertThat(values.randomSamplingPercentage()).isEmpty();
  }

  @Test
  void acceptsZeroAndAHundredPercent() {
    assertThat(
            valid(
                    PolicyValidator.validate(
                        telemetrySpec("  tracing: {randomSamplingPercentage: 0}\n")))
                .randomSamplingPercentage())
        .isEqualTo(OptionalDouble.of(0));
    assertThat(
            valid(
                    PolicyValidator.validate(
                        telemetrySpec("  tracing: {randomSamplingPercentage: 100}\n")))
                .randomSamplingPercentage())
        .isEqualTo(OptionalDouble.of(100));
  }

  @Test
  void aNamespaceOverridesTheMeshFieldByField() {
    TelemetryValues.OtlpEndpoint meshCollector =
        new TelemetryValues.OtlpEndpoint("otel-collector.observability", 4317);
    TelemetryValues mesh = new TelemetryValues(OptionalDouble.of(1), Optional.of(meshCollector));
    TelemetryValues debugging = new TelemetryValues(OptionalDouble.of(100), Optional.empty());
    TelemetryValues.OtlpEndpoint ownCollector =
        new TelemetryValues.OtlpEndpoint("jaeger.shop", 4317);

    assertThat(TelemetryValues.resolve(Optional.of(debugging), Optional.of(mesh)))
        .contains(new TelemetryValues.Tracing(100, meshCollector));
    assertThat(
            TelemetryValues.resolve(
                Optional.of(new TelemetryValues(OptionalDouble.empty(), Optional.of(ownCollector))),
                Optional.of(mesh)))
        .contains(new TelemetryValues.Tracing(1, ownCollector));
    assertThat(TelemetryValues.resolve(Optional.empty(), Optional.of(mesh)))
        .contains(new TelemetryValues.Tracing(1, meshCollector));
    assertThat(
            TelemetryValues.resolve(
                Optional.of(new TelemetryValues(OptionalDouble.empty(), Optional.of(ownCollector))),
                Optional.empty()))
        .as("1 % when no one sets a percentage, as Istio")
        .contains(
            new TelemetryValues.Tracing(TelemetryValues.DEFAULT_SAMPLING_PERCENTAGE, ownCollector));
    assertThat(TelemetryValues.resolve(Optional.of(debugging), Optional.empty()))
        .as("no collector anywhere: spans would have nowhere to go")
        .isEmpty();
  }
}
