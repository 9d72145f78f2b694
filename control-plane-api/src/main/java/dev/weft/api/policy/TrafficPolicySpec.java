package dev.weft.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * The spec of a {@link TrafficPolicy}. Every section is optional; a section left out keeps the
 * proxy's default. The schema annotations let the API server reject the simplest mistakes; {@link
 * PolicyValidator} checks everything, including what a schema cannot say, and is the only check in
 * directory mode.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrafficPolicySpec {

  // GEP-2257 duration, the same format GatewayDuration parses.
  static final String DURATION = "^([0-9]{1,5}(h|m|s|ms)){1,4}$";

  @JsonPropertyDescription("The Services (or route rules of them) this policy applies to.")
  @Required
  @Size(min = 1, max = 16)
  private List<PolicyTargetReference> targetRefs;

  @JsonPropertyDescription("How requests are spread over the Service's endpoints.")
  private LoadBalancer loadBalancer;

  @JsonPropertyDescription("Circuit breaking: limits on connections and requests to the Service.")
  private ConnectionLimits connectionLimits;

  @JsonPropertyDescription("Ejection of endpoints that keep failing.")
  private OutlierDetection outlierDetection;

  @JsonPropertyDescription("Retries of failed requests, unless a route sets its own.")
  private Retry retry;

  public List<PolicyTargetReference> getTargetRefs() {
    return targetRefs;
  }

  public void setTargetRefs(List<PolicyTargetReference> targetRefs) {
    this.targetRefs = targetRefs;
  }

  public LoadBalancer getLoadBalancer() {
    return loadBalancer;
  }

  public void setLoadBalancer(LoadBalancer loadBalancer) {
    this.loadBalancer = loadBalancer;
  }

  public ConnectionLimits getConnectionLimits() {
    return connectionLimits;
  }

  public void setConnectionLimits(ConnectionLimits connectionLimits) {
    this.connectionLimits = connectionLimits;
  }

  public OutlierDetection getOutlierDetection() {
    return outlierDetection;
  }

  public void setOutlierDetection(OutlierDetection outlierDetection) {
    this.outlierDetection = outlierDetection;
  }

  public Retry getRetry() {
    return retry;
  }

  public void setRetry(Retry retry) {
    this.retry = retry;
  }

  /** {@code spec.loadBalancer}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class LoadBalancer {

    @JsonPropertyDescription("RoundRobin (the default), LeastRequest or RingHash.")
    @Pattern("^(RoundRobin|LeastRequest|RingHash)$")
    private String type;

    @JsonPropertyDescription("Consistent hashing settings; only with type RingHash.")
    private RingHash ringHash;

    @JsonPropertyDescription("Prefer endpoints in the caller's zone; fail over by locality.")
    private LocalityFailover localityFailover;

    public String getType() {
      return type;
    }

    public void setType(String type) {
      this.type = type;
    }

    public RingHash getRingHash() {
      return ringHash;
    }

    public void setRingHash(RingHash ringHash) {
      this.ringHash = ringHash;
    }

    public LocalityFailover getLocalityFailover() {
      return localityFailover;
    }

    public void setLocalityFailover(LocalityFailover localityFailover) {
      this.localityFailover = localityFailover;
    }
  }

  /** {@code spec.loadBalancer.ringHash}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class RingHash {

    @JsonPropertyDescription("What a request is hashed on: one of header, cookie, sourceIP.")
    @Required
    private HashOn hashOn;

    @JsonPropertyDescription("Minimum number of entries in the hash ring (default 1024).")
    @Min(1)
    @Max(8_388_608)
    private Integer minimumRingSize;

    public HashOn getHashOn() {
      return hashOn;
    }

    public void setHashOn(HashOn hashOn) {
      this.hashOn = hashOn;
    }

    public Integer getMinimumRingSize() {
      return minimumRingSize;
    }

    public void setMinimumRingSize(Integer minimumRingSize) {
      this.minimumRingSize = minimumRingSize;
    }
  }

  /** {@code spec.loadBalancer.ringHash.hashOn}: exactly one key. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value =
          "(has(self.header) ? 1 : 0) + (has(self.cookie) ? 1 : 0)"
              + " + (has(self.sourceIP) && self.sourceIP ? 1 : 0) == 1",
      message = "exactly one of header, cookie or sourceIP must be set")
  public static final class HashOn {

    @JsonPropertyDescription("Name of the request header whose value is hashed.")
    private String header;

    @JsonPropertyDescription("Name of the cookie whose value is hashed.")
    private String cookie;

    @JsonProperty("sourceIP")
    @JsonPropertyDescription("Hash on the caller's IP address.")
    private Boolean sourceIp;

    public String getHeader() {
      return header;
    }

    public void setHeader(String header) {
      this.header = header;
    }

    public String getCookie() {
      return cookie;
    }

    public void setCookie(String cookie) {
      this.cookie = cookie;
    }

    @JsonProperty("sourceIP")
    public Boolean getSourceIp() {
      return sourceIp;
    }

    @JsonProperty("sourceIP")
    public void setSourceIp(Boolean sourceIp) {
      this.sourceIp = sourceIp;
    }
  }

  /** {@code spec.loadBalancer.localityFailover}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class LocalityFailover {

    @JsonPropertyDescription("Send traffic to the caller's zone first, others only on failure.")
    private Boolean enabled;

    public Boolean getEnabled() {
      return enabled;
    }

    public void setEnabled(Boolean enabled) {
      this.enabled = enabled;
    }
  }

  /** {@code spec.connectionLimits}: Envoy's circuit breaker thresholds. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class ConnectionLimits {

    @JsonPropertyDescription("Connections to all endpoints of the Service (default 1024).")
    @Min(1)
    private Integer maxConnections;

    @JsonPropertyDescription("Requests waiting for a connection (default 1024).")
    @Min(1)
    private Integer maxPendingRequests;

    @JsonPropertyDescription("Requests in flight (default 1024).")
    @Min(1)
    private Integer maxRequests;

    @JsonPropertyDescription("Retries in flight (default 3).")
    @Min(0)
    private Integer maxRetries;

    public Integer getMaxConnections() {
      return maxConnections;
    }

    public void setMaxConnections(Integer maxConnections) {
      this.maxConnections = maxConnections;
    }

    public Integer getMaxPendingRequests() {
      return maxPendingRequests;
    }

    public void setMaxPendingRequests(Integer maxPendingRequests) {
      this.maxPendingRequests = maxPendingRequests;
    }

    public Integer getMaxRequests() {
      return maxRequests;
    }

    public void setMaxRequests(Integer maxRequests) {
      this.maxRequests = maxRequests;
    }

    public Integer getMaxRetries() {
      return maxRetries;
    }

    public void setMaxRetries(Integer maxRetries) {
      this.maxRetries = maxRetries;
    }
  }

  /** {@code spec.outlierDetection}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class OutlierDetection {

    @JsonPropertyDescription(
        "Consecutive 5xx (or gRPC failures) that eject an endpoint (default 5).")
    @Min(1)
    private Integer consecutiveErrors;

    @JsonPropertyDescription(
        "Consecutive 502/503/504 or connect failures that eject (default off).")
    @Min(1)
    private Integer consecutiveGatewayErrors;

    @JsonPropertyDescription("Time between ejection sweeps (default 10s).")
    @Pattern(DURATION)
    private String interval;

    @JsonPropertyDescription("Base time an endpoint stays ejected, times its ejections (30s).")
    @Pattern(DURATION)
    private String baseEjectionTime;

    @JsonPropertyDescription(
        "Most endpoints, in percent, that may be ejected at once (default 10).")
    @Min(0)
    @Max(100)
    private Integer maxEjectionPercent;

    public Integer getConsecutiveErrors() {
      return consecutiveErrors;
    }

    public void setConsecutiveErrors(Integer consecutiveErrors) {
      this.consecutiveErrors = consecutiveErrors;
    }

    public Integer getConsecutiveGatewayErrors() {
      return consecutiveGatewayErrors;
    }

    public void setConsecutiveGatewayErrors(Integer consecutiveGatewayErrors) {
      this.consecutiveGatewayErrors = consecutiveGatewayErrors;
    }

    public String getInterval() {
      return interval;
    }

    public void setInterval(String interval) {
      this.interval = interval;
    }

    public String getBaseEjectionTime() {
      return baseEjectionTime;
    }

    public void setBaseEjectionTime(String baseEjectionTime) {
      this.baseEjectionTime = baseEjectionTime;
    }

    public Integer getMaxEjectionPercent() {
      return maxEjectionPercent;
    }

    public void setMaxEjectionPercent(Integer maxEjectionPercent) {
      this.maxEjectionPercent = maxEjectionPercent;
    }
  }

  /** {@code spec.retry}: the Service's default retry policy. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class Retry {

    @JsonPropertyDescription("Retries after the first attempt; 0 turns retries off.")
    @Min(0)
    private Integer attempts;

    @JsonPropertyDescription("Timeout of each attempt.")
    @Pattern(DURATION)
    private String perTryTimeout;

    @JsonPropertyDescription("Timeout of the whole call, retries included.")
    @Pattern(DURATION)
    private String timeout;

    @JsonPropertyDescription("Base interval of the exponential backoff between retries (25ms).")
    @Pattern(DURATION)
    private String backoff;

    @JsonPropertyDescription("HTTP statuses that are retried (default 503 when no status is set).")
    private List<Integer> codes;

    @JsonPropertyDescription("gRPC statuses that are retried, by name (such as UNAVAILABLE).")
    private List<String> grpcStatuses;

    public Integer getAttempts() {
      return attempts;
    }

    public void setAttempts(Integer attempts) {
      this.attempts = attempts;
    }

    public String getPerTryTimeout() {
      return perTryTimeout;
    }

    public void setPerTryTimeout(String perTryTimeout) {
      this.perTryTimeout = perTryTimeout;
    }

    public String getTimeout() {
      return timeout;
    }

    public void setTimeout(String timeout) {
      this.timeout = timeout;
    }

    public String getBackoff() {
      return backoff;
    }

    public void setBackoff(String backoff) {
      this.backoff = backoff;
    }

    public List<Integer> getCodes() {
      return codes;
    }

    public void setCodes(List<Integer> codes) {
      this.codes = codes;
    }

    public List<String> getGrpcStatuses() {
      return grpcStatuses;
    }

    public void setGrpcStatuses(List<String> grpcStatuses) {
      this.grpcStatuses = grpcStatuses;
    }
  }
}
