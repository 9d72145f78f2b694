package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * The status Weft writes on its policies: standard Kubernetes conditions of the types the Gateway
 * API uses for policies and routes.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public final class PolicyStatus {

  /** The policy is valid and not conflicted; reason {@link #REASON_ACCEPTED} or one below. */
  public static final String ACCEPTED = "Accepted";

  /** Every target the policy names exists. */
  public static final String RESOLVED_REFS = "ResolvedRefs";

  /** The policy's configuration has reached the proxies. */
  public static final String PROGRAMMED = "Programmed";

  public static final String REASON_ACCEPTED = "Accepted";
  public static final String REASON_INVALID = "Invalid";

  /** Another policy of the same kind on the same target won (GEP-713 conflict resolution). */
  public static final String REASON_CONFLICTED = "Conflicted";

  public static final String REASON_TARGET_NOT_FOUND = "TargetNotFound";

  @JsonPropertyDescription("Accepted, ResolvedRefs and Programmed conditions.")
  private List<Condition> conditions = new ArrayList<>();

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }
}
