package dev.weft.api.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.policy.PolicyConflicts.Resolution;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PolicyConflictsTest {

  @Test
  void theOldestPolicyOnATargetWinsAndTheOthersAreConflicted() {
    TrafficPolicy newer = traffic("shop", "b", "2026-11-02T00:00:00Z", "reviews", null);
    TrafficPolicy oldest = traffic("shop", "z", "2026-11-01T00:00:00Z", "reviews", null);
    TrafficPolicy newest = traffic("shop", "a", "2026-11-03T00:00:00Z", "reviews", null);

    List<Resolution<TrafficPolicy>> resolutions =
        PolicyConflicts.resolve(List.of(newer, oldest, newest));

    assertThat(resolutions).hasSize(1);
    Resolution<TrafficPolicy> resolution = resolutions.get(0);
    assertThat(resolution.kind()).isEqualTo("TrafficPolicy");
    assertThat(resolution.target())
        .isEqualTo(new PolicyTarget("shop", "reviews", Optional.empty()));
    assertThat(resolution.accepted()).isSameAs(oldest);
    assertThat(resolution.conflicted())
        .extracting(PolicyConflicts.Conflict::policy)
        .containsExactly(newer, newest);
    assertThat(resolution.conflicted().get(0).reason())
        .isEqualTo(
            "TrafficPolicy shop/z also targets Service shop/reviews and takes precedence: it was"
                + " created earlier (2026-11-01T00:00:00Z)");
  }

  @Test
  void policiesCreatedAtTheSameTimeAreOrderedByNamespaceThenName() {
    String time = "2026-11-01T00:00:00Z";
    TrafficPolicy b = traffic("shop", "b", time, "reviews", null);
    TrafficPolicy a = traffic("shop", "a", time, "reviews", null);

    Resolution<TrafficPolicy> resolution = PolicyConflicts.resolve(List.of(b, a)).get(0);

    assertThat(resolution.accepted()).isSameAs(a);
    assertThat(resolution.conflicted().get(0).reason())
        .isEqualTo(
            "TrafficPolicy shop/a also targets Service shop/reviews and takes precedence: it was"
                + " created at the same time and shop/a sorts first by namespace/name");
  }

  @Test
  void withoutCreationTimesAsInDirectoryModeTheNameDecides() {
    TrafficPolicy b = traffic("shop", "b", null, "reviews", null);
    TrafficPolicy a = traffic("shop", "a", null, "reviews", null);
    TrafficPolicy dated = traffic("shop", "c", "2026-11-01T00:00:00Z", "reviews", null);

    Resolution<TrafficPolicy> resolution = PolicyConflicts.resolve(List.of(b, a, dated)).get(0);

    assertThat(resolution.accepted()).isSameAs(dated);
    assertThat(resolution.conflicted())
        .extracting(PolicyConflicts.Conflict::policy)
        .containsExactly(a, b);
  }

  @Test
  void differentSectionsServicesAndNamespacesDoNotConflict() {
    String time = "2026-11-01T00:00:00Z";
    TrafficPolicy whole = traffic("shop", "whole", time, "reviews", null);
    TrafficPolicy canary = traffic("shop", "canary", time, "reviews", "canary");
    TrafficPolicy other = traffic("shop", "other", time, "ratings", null);
    TrafficPolicy elsewhere = traffic("staging", "whole", time, "reviews", null);

    List<Resolution<TrafficPolicy>> resolutions =
        PolicyConflicts.resolve(List.of(whole, canary, other, elsewhere));

    assertThat(resolutions).hasSize(4).noneMatch(Resolution::hasConflicts);
    assertThat(resolutions)
        .extracting(Resolution::target)
        .containsExactly(
            new PolicyTarget("shop", "ratings", Optional.empty()),
            new PolicyTarget("shop", "reviews", Optional.empty()),
            new PolicyTarget("shop", "reviews", Optional.of("canary")),
            new PolicyTarget("staging", "reviews", Optional.empty()));
  }

  @Test
  void policiesOfDifferentKindsDoNotConflict() {
    String time = "2026-11-01T00:00:00Z";
    TrafficPolicy traffic = traffic("shop", "p", time, "reviews", null);
    FaultPolicy fault = Policies.fault("abort: {httpStatus: 503, percentage: 1}");
    fault.getMetadata().setCreationTimestamp(time);

    List<Resolution<MeshPolicy>> resolutions =
        PolicyConflicts.resolve(List.<MeshPolicy>of(traffic, fault));

    assertThat(resolutions).hasSize(2).noneMatch(Resolution::hasConflicts);
  }

  @Test
  void theOldestRateLimitPolicyOnAPortWins() {
    RateLimitPolicy newer =
        Policies.rateLimitSpec(
            "  targetRefs: [{group: \"\", kind: Service, name: reviews, sectionName: http}]\n"
                + "  local: {requests: 1, per: 1s}\n");
    newer.getMetadata().setName("newer");
    newer.getMetadata().setCreationTimestamp("2026-11-02T00:00:00Z");
    RateLimitPolicy older =
        Policies.rateLimitSpec(
            "  targetRefs: [{group: \"\", kind: Service, name: reviews, sectionName: http}]\n"
                + "  local: {requests: 100, per: 1s}\n");
    older.getMetadata().setName("older");
    older.getMetadata().setCreationTimestamp("2026-11-01T00:00:00Z");

    Resolution<RateLimitPolicy> resolution = PolicyConflicts.resolve(List.of(newer, older)).get(0);

    assertThat(resolution.kind()).isEqualTo("RateLimitPolicy");
    assertThat(resolution.target())
        .isEqualTo(new PolicyTarget("shop", "reviews", Optional.of("http")));
    assertThat(resolution.accepted()).isSameAs(older);
    assertThat(resolution.conflicted().get(0).reason())
        .isEqualTo(
            "RateLimitPolicy shop/older also targets Service shop/reviews (section http) and takes"
                + " precedence: it was created earlier (2026-11-01T00:00:00Z)");
  }

  @Test
  void aPolicyCanWinOnOneTargetAndLoseOnAnother() {
    TrafficPolicy both = traffic("shop", "both", "2026-11-02T00:00:00Z", "reviews", null);
    both.getSpec().getTargetRefs().add(PolicyTargetReference.service("ratings", null));
    TrafficPolicy older = traffic("shop", "older", "2026-11-01T00:00:00Z", "ratings", null);

    List<Resolution<TrafficPolicy>> resolutions = PolicyConflicts.resolve(List.of(both, older));

    assertThat(resolutions).hasSize(2);
    assertThat(resolutions.get(0).target().service()).isEqualTo("ratings");
    assertThat(resolutions.get(0).accepted()).isSameAs(older);
    assertThat(resolutions.get(0).conflicted().get(0).policy()).isSameAs(both);
    assertThat(resolutions.get(1).accepted()).isSameAs(both);
    assertThat(resolutions.get(1).hasConflicts()).isFalse();
  }

  @Test
  void theInputOrderDoesNotChangeTheOutcome() {
    TrafficPolicy a = traffic("shop", "a", "2026-11-02T00:00:00Z", "reviews", null);
    TrafficPolicy b = traffic("shop", "b", "2026-11-01T00:00:00Z", "reviews", null);

    assertThat(PolicyConflicts.resolve(List.of(a, b)))
        .isEqualTo(PolicyConflicts.resolve(List.of(b, a)));
  }

  private static TrafficPolicy traffic(
      String namespace, String name, String created, String service, String section) {
    TrafficPolicy policy = Policies.traffic("retry: {attempts: 1}");
    policy.getMetadata().setNamespace(namespace);
    policy.getMetadata().setName(name);
    policy.getMetadata().setCreationTimestamp(created);
    policy
        .getSpec()
        .setTargetRefs(
            new java.util.ArrayList<>(List.of(PolicyTargetReference.service(service, section))));
    return policy;
  }
}
