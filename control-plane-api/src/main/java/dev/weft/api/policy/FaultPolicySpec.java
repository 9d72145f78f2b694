package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** The spec of a {@link FaultPolicy}: a delay, an abort, or both. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class FaultPolicySpec {

  @JsonPropertyDescription("The Services (or route rules of them) this policy applies to.")
  @Required
  @Size(min = 1, max = 16)
  private List<PolicyTargetReference> targetRefs;

  @JsonPropertyDescription("Delay a share of calls by a fixed time before forwarding them.")
  private Delay delay;

  @JsonPropertyDescription("Fail a share of calls with an HTTP or gRPC status.")
  private Abort abort;

  public List<PolicyTargetReference> getTargetRefs() {
    return targetRefs;
  }

  public void setTargetRefs(List<PolicyTargetReference> targetRefs) {
    this.targetRefs = targetRefs;
  }

  public Delay getDelay() {
    return delay;
  }

  public void setDelay(Delay delay) {
    this.delay = delay;
  }

  public Abort getAbort() {
    return abort;
  }

  public void setAbort(Abort abort) {
    this.abort = abort;
  }

  /** {@code spec.delay}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Delay {

    @JsonPropertyDescription("How long a delayed call waits, such as 200ms.")
    @Required
    @Pattern(TrafficPolicySpec.DURATION)
    private String fixedDelay;

    @JsonPropertyDescription("Share of calls delayed, 0 to 100 (fractions allowed).")
    @Required
    @Min(0)
    @Max(100)
    private Double percentage;

    public String getFixedDelay() {
      return fixedDelay;
    }

    public void setFixedDelay(String fixedDelay) {
      this.fixedDelay = fixedDelay;
    }

    public Double getPercentage() {
      return percentage;
    }

    public void setPercentage(Double percentage) {
      this.percentage = percentage;
    }
  }

  /** {@code spec.abort}: exactly one of an HTTP status and a gRPC status. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "has(self.httpStatus) != has(self.grpcStatus)",
      message = "exactly one of httpStatus or grpcStatus must be set")
  public static final class Abort {

    @JsonPropertyDescription("HTTP status of aborted calls, 200 to 599.")
    @Min(200)
    @Max(599)
    private Integer httpStatus;

    @JsonPropertyDescription("gRPC status of aborted calls: a name such as UNAVAILABLE, or 1-16.")
    private String grpcStatus;

    @JsonPropertyDescription("Share of calls aborted, 0 to 100 (fractions allowed).")
    @Required
    @Min(0)
    @Max(100)
    private Double percentage;

    public Integer getHttpStatus() {
      return httpStatus;
    }

    public void setHttpStatus(Integer httpStatus) {
      this.httpStatus = httpStatus;
    }

    public String getGrpcStatus() {
      return grpcStatus;
    }

    public void setGrpcStatus(String grpcStatus) {
      this.grpcStatus = grpcStatus;
    }

    public Double getPercentage() {
      return percentage;
    }

    public void setPercentage(Double percentage) {
      this.percentage = percentage;
    }
  }
}
