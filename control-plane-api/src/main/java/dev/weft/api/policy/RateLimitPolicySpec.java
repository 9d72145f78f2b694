package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** The spec of a {@link RateLimitPolicy}: the token bucket of each Pod. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class RateLimitPolicySpec {

  @JsonPropertyDescription(
      "The Services (or ports of them, by sectionName: the port's name) this policy applies to.")
  @Required
  @Size(min = 1, max = 16)
  private List<PolicyTargetReference> targetRefs;

  @JsonPropertyDescription(
      "The requests each Pod of the targets accepts, enforced by the Pod's own Envoy sidecar.")
  @Required
  private Local local;

  public List<PolicyTargetReference> getTargetRefs() {
    return targetRefs;
  }

  public void setTargetRefs(List<PolicyTargetReference> targetRefs) {
    this.targetRefs = targetRefs;
  }

  public Local getLocal() {
    return local;
  }

  public void setLocal(Local local) {
    this.local = local;
  }

  /**
   * {@code spec.local}: a token bucket that holds {@code burst} tokens and gains {@code requests}
   * every {@code per}; each request takes one, and a request that finds none is refused.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "!has(self.burst) || self.burst >= self.requests",
      message = "burst must be at least requests")
  public static final class Local {

    @JsonPropertyDescription("Requests allowed per period (tokens added each period), at least 1.")
    @Required
    @Min(1)
    private Integer requests;

    @JsonPropertyDescription("The period, such as 1s or 1m; at least 50ms.")
    @Required
    @Pattern(TrafficPolicySpec.DURATION)
    private String per;

    @JsonPropertyDescription(
        "Requests allowed at once after a quiet time (the bucket's size), at least requests;"
            + " requests when left out.")
    @Min(1)
    private Integer burst;

    public Integer getRequests() {
      return requests;
    }

    public void setRequests(Integer requests) {
      this.requests = requests;
    }

    public String getPer() {
      return per;
    }

    public void setPer(String per) {
      this.per = per;
    }

    public Integer getBurst() {
      return burst;
    }

    public void setBurst(Integer burst) {
      this.burst = burst;
    }
  }
}
