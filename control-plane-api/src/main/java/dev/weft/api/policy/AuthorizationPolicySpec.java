package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/**
 * The spec of an {@link AuthorizationPolicy}: an action and the rules of the calls it applies to. A
 * call matches the policy when it matches any rule; a rule matches when its {@code from}, {@code
 * to} and {@code when} all do (an absent one matches every call); within {@code from} and {@code
 * to}, any entry may match, and within an entry, every field set must.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class AuthorizationPolicySpec {

  /** What a policy does with the calls it matches. */
  public enum Action {
    /** Only calls some ALLOW policy of the Service matches are allowed. */
    ALLOW,
    /** Calls a DENY policy matches are refused, whatever ALLOWs them. */
    DENY
  }

  @JsonPropertyDescription("The Services whose servers enforce this policy.")
  @Required
  @Size(min = 1, max = 16)
  private List<PolicyTargetReference> targetRefs;

  @JsonPropertyDescription("ALLOW (the default) or DENY the calls the rules match.")
  private Action action;

  @JsonPropertyDescription(
      "Calls the policy matches: any rule. An ALLOW policy without rules allows nothing; a rule"
          + " {} matches every call.")
  @Size(max = 64)
  private List<Rule> rules;

  public List<PolicyTargetReference> getTargetRefs() {
    return targetRefs;
  }

  public void setTargetRefs(List<PolicyTargetReference> targetRefs) {
    this.targetRefs = targetRefs;
  }

  public Action getAction() {
    return action;
  }

  public void setAction(Action action) {
    this.action = action;
  }

  public List<Rule> getRules() {
    return rules;
  }

  public void setRules(List<Rule> rules) {
    this.rules = rules;
  }

  /** {@code spec.rules[]}: who calls, what, and under which request conditions. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Rule {

    @JsonPropertyDescription("Callers: any entry. Absent: any caller.")
    @Size(max = 64)
    private List<Source> from;

    @JsonPropertyDescription("Operations: any entry. Absent: any operation.")
    @Size(max = 64)
    private List<Operation> to;

    @JsonPropertyDescription("Request header conditions: all of them.")
    @Size(max = 64)
    private List<Condition> when;

    public List<Source> getFrom() {
      return from;
    }

    public void setFrom(List<Source> from) {
      this.from = from;
    }

    public List<Operation> getTo() {
      return to;
    }

    public void setTo(List<Operation> to) {
      this.to = to;
    }

    public List<Condition> getWhen() {
      return when;
    }

    public void setWhen(List<Condition> when) {
      this.when = when;
    }
  }

  /** {@code from[]}: callers, by the SPIFFE ID of their certificate. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Source {

    @JsonPropertyDescription(
        "Caller identities, <trust domain>/ns/<namespace>/sa/<service account> (or spiffe://...)."
            + " One '*' at the start or end matches any text there; '*' alone, any authenticated"
            + " caller.")
    @Size(max = 64)
    private List<String> principals;

    @JsonPropertyDescription("Identities that must not match, in the same form.")
    @Size(max = 64)
    private List<String> notPrincipals;

    @JsonPropertyDescription("Namespaces of the callers; '*' at the start or end as above.")
    @Size(max = 64)
    private List<String> namespaces;

    @JsonPropertyDescription("Namespaces that must not match.")
    @Size(max = 64)
    private List<String> notNamespaces;

    public List<String> getPrincipals() {
      return principals;
    }

    public void setPrincipals(List<String> principals) {
      this.principals = principals;
    }

    public List<String> getNotPrincipals() {
      return notPrincipals;
    }

    public void setNotPrincipals(List<String> notPrincipals) {
      this.notPrincipals = notPrincipals;
    }

    public List<String> getNamespaces() {
      return namespaces;
    }

    public void setNamespaces(List<String> namespaces) {
      this.namespaces = namespaces;
    }

    public List<String> getNotNamespaces() {
      return notNamespaces;
    }

    public void setNotNamespaces(List<String> notNamespaces) {
      this.notNamespaces = notNamespaces;
    }
  }

  /** {@code to[]}: what is called. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Operation {

    @JsonPropertyDescription("Ports of the server called.")
    @Size(max = 64)
    private List<@Min(1) @Max(65535) Integer> ports;

    @JsonPropertyDescription("Ports that must not match.")
    @Size(max = 64)
    private List<@Min(1) @Max(65535) Integer> notPorts;

    @JsonPropertyDescription(
        "Request paths; a gRPC method is /<package>.<Service>/<Method>. One '*' at the start or"
            + " end matches any text there: /weft.demo.Greeter/* is every method of a service.")
    @Size(max = 64)
    private List<String> paths;

    @JsonPropertyDescription("Paths that must not match.")
    @Size(max = 64)
    private List<String> notPaths;

    @JsonPropertyDescription("HTTP methods, such as GET; every gRPC call is a POST.")
    @Size(max = 16)
    private List<String> methods;

    @JsonPropertyDescription("Methods that must not match.")
    @Size(max = 16)
    private List<String> notMethods;

    public List<Integer> getPorts() {
      return ports;
    }

    public void setPorts(List<Integer> ports) {
      this.ports = ports;
    }

    public List<Integer> getNotPorts() {
      return notPorts;
    }

    public void setNotPorts(List<Integer> notPorts) {
      this.notPorts = notPorts;
    }

    public List<String> getPaths() {
      return paths;
    }

    public void setPaths(List<String> paths) {
      this.paths = paths;
    }

    public List<String> getNotPaths() {
      return notPaths;
    }

    public void setNotPaths(List<String> notPaths) {
      this.notPaths = notPaths;
    }

    public List<String> getMethods() {
      return methods;
    }

    public void setMethods(List<String> methods) {
      this.methods = methods;
    }

    public List<String> getNotMethods() {
      return notMethods;
    }

    public void setNotMethods(List<String> notMethods) {
      this.notMethods = notMethods;
    }
  }

  /** {@code when[]}: a request header and the values it may (or must not) have. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Condition {

    @JsonPropertyDescription("The request header's name (case does not matter).")
    @Required
    private String header;

    @JsonPropertyDescription(
        "Values that match; '*' at the start or end as above; '*' alone: the header is present.")
    @Size(max = 64)
    private List<String> values;

    @JsonPropertyDescription("Values that must not match.")
    @Size(max = 64)
    private List<String> notValues;

    public String getHeader() {
      return header;
    }

    public void setHeader(String header) {
      this.header = header;
    }

    public List<String> getValues() {
      return values;
    }

    public void setValues(List<String> values) {
      this.values = values;
    }

    public List<String> getNotValues() {
      return notValues;
    }

    public void setNotValues(List<String> notValues) {
      this.notValues = notValues;
    }
  }
}
