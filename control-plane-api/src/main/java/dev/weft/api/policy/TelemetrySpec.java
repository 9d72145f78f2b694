package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The spec of a {@link Telemetry}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TelemetrySpec {

  @JsonPropertyDescription(
      "How the namespace's Envoy sidecars and gateways trace requests. Fields left out are taken"
          + " from the Telemetry of the mesh's root namespace.")
  @Required
  private Tracing tracing;

  public Tracing getTracing() {
    return tracing;
  }

  public void setTracing(Tracing tracing) {
    this.tracing = tracing;
  }

  /** {@code spec.tracing}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Tracing {

    @JsonPropertyDescription(
        "Share of requests that start a trace, 0 to 100 (fractions allowed; 1 when neither this"
            + " Telemetry nor the root namespace's sets it). A request that arrives with a sampled"
            + " trace context is traced whatever this says.")
    @Min(0)
    @Max(100)
    private Double randomSamplingPercentage;

    @JsonPropertyDescription("The OpenTelemetry collector that receives the spans, over OTLP/gRPC.")
    private Otlp otlp;

    public Double getRandomSamplingPercentage() {
      return randomSamplingPercentage;
    }

    public void setRandomSamplingPercentage(Double randomSamplingPercentage) {
      this.randomSamplingPercentage = randomSamplingPercentage;
    }

    public Otlp getOtlp() {
      return otlp;
    }

    public void setOtlp(Otlp otlp) {
      this.otlp = otlp;
    }
  }

  /** {@code spec.tracing.otlp}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Otlp {

    /** {@code host:port}, the host a DNS name or an IPv4 address, or {@code [IPv6]:port}. */
    static final String ENDPOINT = "^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):[0-9]{1,5}$";

    @JsonPropertyDescription(
        "host:port of the collector's OTLP/gRPC receiver, without a scheme, such as"
            + " otel-collector.observability.svc.cluster.local:4317. Proxies resolve the host"
            + " through DNS.")
    @Required
    @Pattern(ENDPOINT)
    private String endpoint;

    public String getEndpoint() {
      return endpoint;
    }

    public void setEndpoint(String endpoint) {
      this.endpoint = endpoint;
    }
  }
}
