package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.PolicyTarget;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import dev.weft.registry.model.PolicyValues;
import dev.weft.registry.model.ResolvedPolicies;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A RateLimitPolicy decodes into the limit translation reads, the oldest on a target applies, and
 * its status says where it is enforced, or which of its targets is missing.
 */
class RateLimitPolicyTest {

  private static final ServiceKey REVIEWS = new ServiceKey("shop", "reviews");
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  private final ManifestParser parser = new ManifestParser();
  private final ResourceDecoder decoder = new ResourceDecoder();
  private final MeshRegistry registry = MeshRegistry.create();
  private final RegistrySource source = registry.registerSource("test");

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  void decodesIntoItsLimit() throws ManifestParser.SyntaxError {
    Validated<Mutation> decoded =
        decode(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: RateLimitPolicy
            metadata: {name: reviews-limit, namespace: shop}
            spec:
              targetRefs: [{group: "", kind: Service, name: reviews, sectionName: http}]
              local: {requests: 100, per: 1s}
            """);

    MeshConfig config =
        ((Mutation.PutConfig) ((Validated.Valid<Mutation>) decoded).value()).config();
    assertThat(config.key())
        .isEqualTo(new ObjectKey(ResourceKind.RATE_LIMIT_POLICY, "shop", "reviews-limit"));
    assertThat(config.policy())
        .contains(
            new PolicyValues.RateLimit(
                new RateLimitValues(
                    List.of(new PolicyTarget("shop", "reviews", Optional.of("http"))),
                    new RateLimitValues.LocalLimit(100, Duration.ofSeconds(1), 100))));
  }

  @Test
  void anInvalidPolicyIsRejectedWithItsFieldErrors() throws ManifestParser.SyntaxError {
    Validated<Mutation> decoded =
        decode(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: RateLimitPolicy
            metadata: {name: reviews-limit, namespace: shop}
            spec:
              targetRefs: [{group: "", kind: Service, name: reviews}]
              local: {requests: 100, per: 10ms, burst: 50}
            """);

    assertThat(decoded.errors())
        .extracting(FieldError::path)
        .containsExactly("spec.local.per", "spec.local.burst");
  }

  @Test
  void theOldestPolicyOnATargetAppliesAndTheOthersAreConflicted() {
    source.upsert(TestObjects.service("shop", "reviews", "http", 9080));
    source.upsert(policy("newer", "2026-11-02T00:00:00Z", "http", 1));
    source.upsert(policy("older", "2026-11-01T00:00:00Z", "http", 100));
    source.upsert(policy("whole-service", "2026-11-03T00:00:00Z", null, 10));

    MeshState state = stateWith(3);

    ResolvedPolicies policies = state.attachments(REVIEWS).policies();
    assertThat(policies.rateLimit(new PolicyTarget("shop", "reviews", Optional.of("http"))))
        .contains(new RateLimitValues.LocalLimit(100, Duration.ofSeconds(1), 100));
    assertThat(policies.rateLimit(new PolicyTarget("shop", "reviews", Optional.empty())))
        .as("a port's policy and the whole Service's do not conflict")
        .contains(new RateLimitValues.LocalLimit(10, Duration.ofSeconds(1), 10));
    assertThat(accepted(state, "older"))
        .isEqualTo(
            new ConfigCondition("Accepted", true, "Accepted", ConfigStatus.RATE_LIMIT_ACCEPTED));
    assertThat(accepted(state, "newer"))
        .isEqualTo(
            new ConfigCondition(
                "Accepted",
                false,
                "Conflicted",
                "RateLimitPolicy shop/older also targets Service shop/reviews (section http) and"
                    + " takes precedence: it was created earlier (2026-11-01T00:00:00Z)"));
    assertThat(ConfigStatus.RATE_LIMIT_ACCEPTED).contains("proxyless gRPC servers have no rate");
  }

  @Test
  void aPortTheServiceDoesNotHaveIsATargetNotFound() {
    source.upsert(TestObjects.service("shop", "reviews", "http", 9080));
    source.upsert(policy("typo", null, "htp", 100));

    MeshState state = stateWith(1);

    assertThat(accepted(state, "typo"))
        .isEqualTo(
            new ConfigCondition(
                "Accepted", false, "TargetNotFound", "no such Service port: [shop/reviews:htp]"));
  }

  private MeshState stateWith(int policies) {
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                registry.current().service(REVIEWS).isPresent()
                    && registry.current().attachments(REVIEWS).configs().size() == policies);
    return registry.current();
  }

  private static ConfigCondition accepted(MeshState state, String name) {
    return ConfigStatus.of(state, new ObjectKey(ResourceKind.RATE_LIMIT_POLICY, "shop", name))
        .get(0);
  }

  private static RateLimitPolicy policy(String name, String createdAt, String port, int requests) {
    RateLimitPolicy policy =
        YAML.unmarshal(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: RateLimitPolicy
            metadata: {name: %s, namespace: shop}
            spec:
              targetRefs: [{group: "", kind: Service, name: reviews%s}]
              local: {requests: %d, per: 1s}
            """
                .formatted(name, port == null ? "" : ", sectionName: " + port, requests),
            RateLimitPolicy.class);
    policy.getMetadata().setCreationTimestamp(createdAt);
    return policy;
  }

  private Validated<Mutation> decode(String yaml) throws ManifestParser.SyntaxError {
    ManifestParser.Parsed parsed = (ManifestParser.Parsed) parser.parse(yaml).get(0);
    return decoder.decode(parsed.key(), parsed.object());
  }
}
