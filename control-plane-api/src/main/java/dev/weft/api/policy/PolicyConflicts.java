package dev.weft.api.policy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Conflict resolution between policies of one kind attached to the same target, as the Gateway API
 * specifies it (GEP-713): the policy created first wins; between policies created at the same time,
 * the first in alphabetical order of {@code namespace/name}. The others are {@code Conflicted} on
 * that target.
 *
 * <p>A policy on a whole Service and one on a section of it do not conflict: the section's is more
 * specific, and which fields it overrides is the translator's to apply. Policies of different kinds
 * never conflict, nor do kinds that are not {@link MeshPolicy#exclusive()}: they appear in no
 * resolution. Only well-formed target references count; validate policies first.
 */
public final class PolicyConflicts {

  private PolicyConflicts() {}

  /**
   * The outcome for one target.
   *
   * @param kind the kind of the policies, such as {@code TrafficPolicy}
   * @param target the Service, or the section of it, they attach to
   * @param accepted the policy that applies to it
   * @param conflicted the policies that lost to {@code accepted}, oldest first
   */
  public record Resolution<P extends MeshPolicy>(
      String kind, PolicyTarget target, P accepted, List<Conflict<P>> conflicted) {
    public Resolution {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(accepted, "accepted");
      conflicted = List.copyOf(conflicted);
    }

    public boolean hasConflicts() {
      return !conflicted.isEmpty();
    }
  }

  /**
   * A policy that does not apply to a target because another took precedence.
   *
   * @param reason a message for the policy's {@code Accepted} condition (reason {@code Conflicted})
   */
  public record Conflict<P extends MeshPolicy>(P policy, String reason) {}

  /**
   * Groups {@code policies} by kind and target and picks the one that applies to each target. The
   * result is sorted by kind, namespace, Service and section, so that equal inputs give equal
   * outputs whatever their order.
   */
  public static <P extends MeshPolicy> List<Resolution<P>> resolve(Collection<P> policies) {
    // Keyed by "kind|target"; each value keeps one entry per policy even if it names a target
    // twice.
    Map<String, Map<String, P>> byTarget = new TreeMap<>();
    Map<String, PolicyTarget> targets = new LinkedHashMap<>();
    for (P policy : policies) {
      if (!policy.exclusive()) {
        continue; // all of them apply: there is nothing to resolve
      }
      for (PolicyTarget target : targetsOf(policy)) {
        String key = policy.getKind() + "|" + sortKey(target);
        targets.put(key, target);
        byTarget
            .computeIfAbsent(key, k -> new LinkedHashMap<>())
            .put(qualifiedName(policy), policy);
      }
    }
    List<Resolution<P>> resolutions = new ArrayList<>();
    byTarget.forEach(
        (key, candidates) -> {
          List<P> ordered = new ArrayList<>(candidates.values());
          ordered.sort(PRECEDENCE);
          P winner = ordered.get(0);
          List<Conflict<P>> lost = new ArrayList<>();
          for (P loser : ordered.subList(1, ordered.size())) {
            lost.add(new Conflict<>(loser, reason(winner, loser, targets.get(key))));
          }
          resolutions.add(new Resolution<>(winner.getKind(), targets.get(key), winner, lost));
        });
    return resolutions;
  }

  // Oldest first; a policy without a (readable) creation time, as in directory mode, sorts after
  // those with one; ties go to namespace/name.
  private static final Comparator<MeshPolicy> PRECEDENCE =
      Comparator.comparing(
              (MeshPolicy p) -> createdAt(p).orElse(Instant.MAX), Comparator.naturalOrder())
          .thenComparing(PolicyConflicts::qualifiedName);

  private static String reason(MeshPolicy winner, MeshPolicy loser, PolicyTarget target) {
    Optional<Instant> winnerTime = createdAt(winner);
    String why =
        winnerTime.isPresent() && !winnerTime.equals(createdAt(loser))
            ? "it was created earlier (" + winnerTime.get() + ")"
            : "it was created at the same time and "
                + qualifiedName(winner)
                + " sorts first by namespace/name";
    return winner.getKind()
        + " "
        + qualifiedName(winner)
        + " also targets "
        + target
        + " and takes precedence: "
        + why;
  }

  private static List<PolicyTarget> targetsOf(MeshPolicy policy) {
    String namespace = PolicyFields.namespaceOf(policy);
    if (policy.namespaceWide()) {
      return List.of(PolicyTarget.wholeNamespace(namespace));
    }
    List<PolicyTarget> targets = new ArrayList<>();
    for (PolicyTargetReference ref : policy.targetRefs()) {
      if (ref != null
          && "Service".equals(ref.getKind())
          && PolicyFields.isCoreGroup(ref.getGroup())
          && ref.getName() != null
          && !ref.getName().isEmpty()) {
        targets.add(
            new PolicyTarget(namespace, ref.getName(), Optional.ofNullable(ref.getSectionName())));
      }
    }
    return targets;
  }

  private static String sortKey(PolicyTarget target) {
    return target.namespace() + "|" + target.service() + "|" + target.sectionName().orElse("");
  }

  private static Optional<Instant> createdAt(MeshPolicy policy) {
    String timestamp =
        policy.getMetadata() == null ? null : policy.getMetadata().getCreationTimestamp();
    if (timestamp == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Instant.parse(timestamp));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private static String qualifiedName(MeshPolicy policy) {
    String name = policy.getMetadata() == null ? null : policy.getMetadata().getName();
    return PolicyFields.namespaceOf(policy) + "/" + name;
  }
}
