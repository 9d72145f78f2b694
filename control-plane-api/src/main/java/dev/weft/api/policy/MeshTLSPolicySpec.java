package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** The spec of a {@link MeshTLSPolicy}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class MeshTLSPolicySpec {

  @JsonPropertyDescription(
      "The Services it applies to, in its namespace. Absent: every Service of the namespace.")
  @Size(max = 16)
  private List<PolicyTargetReference> targetRefs;

  @JsonPropertyDescription(
      "STRICT: servers accept only mutual TLS, and clients use it. PERMISSIVE: servers accept"
          + " both where they can tell them apart (Envoy); proxyless gRPC servers cannot, and"
          + " serve plaintext. DISABLE: plaintext.")
  @Required
  private MutualTlsMode mode;

  public List<PolicyTargetReference> getTargetRefs() {
    return targetRefs;
  }

  public void setTargetRefs(List<PolicyTargetReference> targetRefs) {
    this.targetRefs = targetRefs;
  }

  public MutualTlsMode getMode() {
    return mode;
  }

  public void setMode(MutualTlsMode mode) {
    this.mode = mode;
  }
}
