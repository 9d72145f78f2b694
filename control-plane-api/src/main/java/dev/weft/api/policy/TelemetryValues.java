package dev.weft.api.policy;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A validated {@link Telemetry} as plain values: what it sets, each field empty when left to the
 * root namespace's Telemetry.
 *
 * @param randomSamplingPercentage the share of requests that start a trace, 0 to 100
 * @param otlp the collector that receives the spans
 */
public record TelemetryValues(
    OptionalDouble randomSamplingPercentage, Optional<OtlpEndpoint> otlp) {

  /** What a mesh without a sampling percentage samples, as Istio does. */
  public static final double DEFAULT_SAMPLING_PERCENTAGE = 1.0;

  public TelemetryValues {
    Objects.requireNonNull(randomSamplingPercentage, "randomSamplingPercentage");
    Objects.requireNonNull(otlp, "otlp");
  }

  /**
   * An OTLP/gRPC receiver's address.
   *
   * @param host a DNS name or an IP address (an IPv6 address without its brackets)
   * @param port 1 to 65535
   */
  public record OtlpEndpoint(String host, int port) {
    public OtlpEndpoint {
      Objects.requireNonNull(host, "host");
    }

    /** {@code host:port}, with an IPv6 address in brackets. */
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /**
   * What proxies of a namespace get: {@code namespace}'s Telemetry's fields, each falling back to
   * {@code mesh}'s (the root namespace's); nothing without an endpoint from either, since spans
   * would have nowhere to go.
   */
  public static Optional<Tracing> resolve(
      Optional<TelemetryValues> namespace, Optional<TelemetryValues> mesh) {
    Optional<OtlpEndpoint> otlp =
        namespace.flatMap(TelemetryValues::otlp).or(() -> mesh.flatMap(TelemetryValues::otlp));
    if (otlp.isEmpty()) {
      return Optional.empty();
    }
    OptionalDouble own =
        namespace.map(TelemetryValues::randomSamplingPercentage).orElse(OptionalDouble.empty());
    OptionalDouble inherited =
        mesh.map(TelemetryValues::randomSamplingPercentage).orElse(OptionalDouble.empty());
    double percentage =
        own.isPresent() ? own.getAsDouble() : inherited.orElse(DEFAULT_SAMPLING_PERCENTAGE);
    return Optional.of(new Tracing(percentage, otlp.get()));
  }

  /**
   * The tracing a proxy applies, every field settled.
   *
   * @param randomSamplingPercentage 0 to 100
   * @param otlp where spans go
   */
  public record Tracing(double randomSamplingPercentage, OtlpEndpoint otlp) {
    public Tracing {
      Objects.requireNonNull(otlp, "otlp");
    }
  }
}
