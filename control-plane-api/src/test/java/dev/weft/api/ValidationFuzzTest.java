package dev.weft.api;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.weft.api.gateway.GatewayRouteValidator;
import dev.weft.api.policy.CircuitBreaker;
import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.LoadBalancing;
import dev.weft.api.policy.OutlierDetection;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.PolicyValidator;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.RetryDefaults;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.api.policy.TrafficPolicyValues;
import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Fuzz tests of validation (see docs/fuzzing.md): {@link PolicyValidator} on TrafficPolicies,
 * FaultPolicies, RateLimitPolicies and Telemetries and {@link GatewayRouteValidator} on HTTPRoutes
 * and GRPCRoutes, each given objects unmarshalled from fuzzed YAML or JSON the way Fabric8 reads
 * them. Validation is a value: it returns every error with a field path and a reason, never throws;
 * and what it accepts keeps the promises of the value types (bounds, defaults, no nulls).
 *
 * <p>In a normal build each method runs only on its inputs in {@code ValidationFuzzTestInputs/<
 * method>}; with {@code -Dweft.fuzz=1 -Dtest=ValidationFuzzTest#<method>} Jazzer fuzzes it.
 */
@Timeout(30) // per input
class ValidationFuzzTest {

  /** The example objects mutateAndValidate starts from, in validateArbitraryText's inputs. */
  static final List<String> EXAMPLES =
      List.of(
          "traffic-policy.yaml",
          "traffic-policy-canary-rule.yaml",
          "fault-policy-grpc.yaml",
          "fault-policy-http.yaml",
          "rate-limit-policy.yaml",
          "telemetry.yaml",
          "http-route.yaml",
          "grpc-route.yaml");

  private static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.of(
          "TrafficPolicy", TrafficPolicy.class,
          "FaultPolicy", FaultPolicy.class,
          "RateLimitPolicy", RateLimitPolicy.class,
          "Telemetry", Telemetry.class,
          "HTTPRoute", HTTPRoute.class,
          "GRPCRoute", GRPCRoute.class);

  // The serialization the registry's Kubernetes source and tests use.
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---$");
  private static final YAMLMapper YAML = YAMLMapper.builder().build();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private static final class Base {
    static final List<JsonNode> DOCUMENTS = load();
  }

  /**
   * Arbitrary text read as each of the six kinds; whatever Fabric8 makes of it is validated. The
   * committed inputs are the policy examples and two routes.
   */
  @FuzzTest(maxDuration = "3m")
  void validateArbitraryText(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    for (Class<? extends HasMetadata> type : KINDS.values()) {
      HasMetadata object;
      try {
        object = SERIALIZATION.unmarshal(text, type);
      } catch (RuntimeException notThisKind) {
        continue; // Fabric8's refusal, before Weft's validation: not what is tested here
      }
      if (type.isInstance(object)) {
        validate(object);
      }
    }
  }

  /**
   * An example object mutated as a tree (fields removed, set to null, to numbers, strings, empty or
   * null-holding lists; entries added or duplicated), written as YAML or JSON and unmarshalled as
   * its kind: objects that are nearly right, which is where validators have to be careful.
   */
  @FuzzTest(maxDuration = "3m")
  void mutateAndValidate(FuzzedDataProvider data) {
    JsonNode document = data.pickValue(Base.DOCUMENTS).deepCopy();
    Class<? extends HasMetadata> type = KINDS.get(document.get("kind").asString());
    JsonTreeMutator.mutate(document, data, 8);
    String text =
        data.consumeBoolean()
            ? YAML.writeValueAsString(document)
            : JSON.writeValueAsString(document);
    HasMetadata object;
    try {
      object = SERIALIZATION.unmarshal(text, type);
    } catch (RuntimeException notThisKind) {
      return;
    }
    if (object != null) {
      validate(object);
    }
  }

  private static void validate(HasMetadata object) {
    if (object instanceof TrafficPolicy policy) {
      check(PolicyValidator.validate(policy)).ifPresent(v -> holds(v, () -> checkTraffic(v)));
    } else if (object instanceof FaultPolicy policy) {
      check(PolicyValidator.validate(policy)).ifPresent(v -> holds(v, () -> checkFault(v)));
    } else if (object instanceof RateLimitPolicy policy) {
      check(PolicyValidator.validate(policy)).ifPresent(v -> holds(v, () -> checkRateLimit(v)));
    } else if (object instanceof Telemetry telemetry) {
      check(PolicyValidator.validate(telemetry)).ifPresent(v -> holds(v, () -> checkTelemetry(v)));
    } else if (object instanceof HTTPRoute route) {
      GatewayRouteValidator.isMeshRoute(
          route.getSpec() == null ? null : route.getSpec().getParentRefs());
      check(GatewayRouteValidator.validate(route));
    } else if (object instanceof GRPCRoute route) {
      GatewayRouteValidator.isMeshRoute(
          route.getSpec() == null ? null : route.getSpec().getParentRefs());
      check(GatewayRouteValidator.validate(route));
    }
  }

  /** Errors come with a reason; returns the value when there are none. */
  private static <T> java.util.Optional<T> check(Validated<T> result) {
    if (result instanceof Validated.Valid<T> valid) {
      return java.util.Optional.of(valid.value());
    }
    for (FieldError error : result.errors()) {
      if (error.reason().isBlank()) {
        throw new AssertionError("an error without a reason: " + result.errors());
      }
    }
    return java.util.Optional.empty();
  }

  private static void checkTraffic(TrafficPolicyValues values) {
    checkTargets(values.targets());
    values
        .loadBalancing()
        .flatMap(LoadBalancing::ringHash)
        .ifPresent(
            ring -> require(ring.minimumRingSize() >= 1 && ring.minimumRingSize() <= 8_388_608));
    values.circuitBreaker().ifPresent(ValidationFuzzTest::checkLimits);
    values.outlierDetection().ifPresent(ValidationFuzzTest::checkOutliers);
    values.retry().ifPresent(ValidationFuzzTest::checkRetry);
  }

  private static void checkLimits(CircuitBreaker limits) {
    require(
        limits.maxConnections() >= 1
            && limits.maxPendingRequests() >= 1
            && limits.maxRequests() >= 1
            && limits.maxRetries() >= 0);
  }

  private static void checkOutliers(OutlierDetection outliers) {
    require(
        outliers.consecutiveErrors() >= 1
            && positive(outliers.interval())
            && positive(outliers.baseEjectionTime())
            && outliers.maxEjectionPercent() >= 0
            && outliers.maxEjectionPercent() <= 100);
    outliers.consecutiveGatewayErrors().ifPresent(errors -> require(errors >= 1));
  }

  private static void checkRetry(RetryDefaults retry) {
    require(retry.attempts() >= 0 && positive(retry.backoff()));
    retry.perTryTimeout().ifPresent(timeout -> require(positive(timeout)));
    retry.timeout().ifPresent(timeout -> require(positive(timeout)));
    if (retry.perTryTimeout().isPresent() && retry.timeout().isPresent()) {
      require(retry.perTryTimeout().get().compareTo(retry.timeout().get()) <= 0);
    }
    retry.httpCodes().forEach(code -> require(code >= 400 && code <= 599));
    require(!retry.grpcStatuses().contains("OK"));
  }

  private static void checkFault(FaultInjection fault) {
    checkTargets(fault.targets());
    require(fault.delay().isPresent() || fault.abort().isPresent());
    fault
        .delay()
        .ifPresent(
            delay -> require(positive(delay.fixedDelay()) && percentage(delay.percentage())));
    fault
        .abort()
        .ifPresent(
            abort -> {
              require(percentage(abort.percentage()));
              if (abort.protocol() == FaultInjection.Protocol.HTTP) {
                require(abort.status() >= 200 && abort.status() <= 599);
              } else {
                require(abort.status() >= 1 && abort.status() <= 16);
              }
            });
  }

  private static void checkRateLimit(RateLimitValues rateLimit) {
    checkTargets(rateLimit.targets());
    RateLimitValues.LocalLimit local = rateLimit.local();
    require(local.requests() >= 1 && local.burst() >= local.requests());
    require(local.per().compareTo(RateLimitValues.LocalLimit.MIN_PERIOD) >= 0);
  }

  private static void checkTelemetry(TelemetryValues telemetry) {
    telemetry
        .randomSamplingPercentage()
        .ifPresent(percentage -> require(percentage >= 0 && percentage <= 100));
    telemetry
        .otlp()
        .ifPresent(
            otlp -> require(!otlp.host().isEmpty() && otlp.port() >= 1 && otlp.port() <= 65535));
  }

  private static void checkTargets(List<PolicyTarget> targets) {
    require(!targets.isEmpty() && targets.size() <= 16);
    require(new HashSet<>(targets).size() == targets.size());
    for (PolicyTarget target : targets) {
      require(!target.namespace().isEmpty() && target.service().length() <= 63);
    }
  }

  private static boolean positive(Duration duration) {
    return !duration.isNegative() && !duration.isZero();
  }

  private static boolean percentage(double value) {
    return value >= 0 && value <= 100;
  }

  private static void require(boolean condition) {
    if (!condition) {
      throw new AssertionError("a value outside its bounds");
    }
  }

  private static void holds(Object value, Runnable checks) {
    try {
      checks.run();
    } catch (AssertionError e) {
      throw new AssertionError("validation accepted " + value, e);
    }
  }

  private static List<JsonNode> load() {
    List<JsonNode> documents = new ArrayList<>();
    for (String name : EXAMPLES) {
      try (InputStream in =
          ValidationFuzzTest.class.getResourceAsStream(
              "ValidationFuzzTestInputs/validateArbitraryText/" + name)) {
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        for (String part : DOCUMENT_SEPARATOR.splitAsStream(text).toList()) {
          JsonNode node = YAML.readTree(part);
          if (node != null && node.isObject() && KINDS.containsKey(node.path("kind").asString())) {
            documents.add(node);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return List.copyOf(documents);
  }
}
