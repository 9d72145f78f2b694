package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * What a policy attaches to, as the Gateway API's {@code LocalPolicyTargetReferenceWithSectionName}
 * (GEP-713): a Service in the policy's own namespace, optionally narrowed to one route rule (or,
 * for a RateLimitPolicy, one port).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class PolicyTargetReference {

  @JsonPropertyDescription("API group of the target; \"\" (core) for a Service.")
  @Required
  private String group;

  @JsonPropertyDescription("Kind of the target; Service.")
  @Required
  private String kind;

  @JsonPropertyDescription("Name of the target, in the policy's namespace.")
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  private String name;

  @JsonPropertyDescription(
      "Name of one section of the Service to narrow the policy to: an HTTPRoute/GRPCRoute rule's"
          + " name, or for a RateLimitPolicy a port's name.")
  private String sectionName;

  public PolicyTargetReference() {}

  /** A reference to the Service {@code name}, optionally narrowed to {@code sectionName}. */
  public static PolicyTargetReference service(String name, String sectionName) {
    PolicyTargetReference ref = new PolicyTargetReference();
    ref.setGroup("");
    ref.setKind("Service");
    ref.setName(name);
    ref.setSectionName(sectionName);
    return ref;
  }

  public String getGroup() {
    return group;
  }

  public void setGroup(String group) {
    this.group = group;
  }

  public String getKind() {
    return kind;
  }

  public void setKind(String kind) {
    this.kind = kind;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getSectionName() {
    return sectionName;
  }

  public void setSectionName(String sectionName) {
    this.sectionName = sectionName;
  }
}
