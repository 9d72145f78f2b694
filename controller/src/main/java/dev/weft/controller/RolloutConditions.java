package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.Rollout;
import dev.weft.registry.ConfigCondition;
import dev.weft.registry.ConfigStatus;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The {@code Programmed} condition of a route or policy, as users read it: true only when the
 * proxies it concerns hold its accepted version ("N of M proxies hold it"), false with the proxy
 * and its error when one rejected it. The status writer, the debug API and the page all show this
 * one; the leader's status writer counts the proxies of every replica ({@link ReplicaRollouts}).
 */
final class RolloutConditions {

  static final String PROGRAMMED = "Programmed";
  static final String PENDING = "Pending";
  static final String REJECTED = "Rejected";

  private RolloutConditions() {}

  /**
   * The condition over the proxies of every replica: this one's, plus what {@code peers} said of
   * theirs. A replica that did not answer is named, and the condition is not true while one does
   * not: its proxies may lack the version ("2 of 2 proxies on 2 of 3 replicas hold it; replica
   * weft-1 did not answer"). A replica that answered without the object (it has not accepted this
   * version yet, or refused it) is named too. Proxies of a replica that has another version, or has
   * not published it, count as not holding it.
   */
  static ConfigCondition programmed(
      MeshState state, ConfigDistributor distributor, ObjectKey key, ReplicaRollouts.Peers peers) {
    ConfigCondition published = ConfigStatus.programmed(state, distributor.published(), key);
    MeshConfig config = state.config(key).orElse(null);
    if (!published.status() || config == null) {
      return published; // no valid version, or not yet in what is sent to proxies
    }
    Rollout rollout = distributor.rollout(config).orElse(null);
    if (rollout == null) {
      return new ConfigCondition(PROGRAMMED, false, PENDING, "not yet sent to proxies");
    }
    String version = ReplicaRollouts.version(config);
    int proxies = rollout.proxies();
    int holding = rollout.holding();
    List<Rollout.Rejected> rejected = new ArrayList<>(rollout.rejected());
    List<String> without = new ArrayList<>();
    for (Map.Entry<String, Map<ObjectKey, ReplicaRollouts.ObjectRollout>> answer :
        peers.answered().entrySet()) {
      ReplicaRollouts.ObjectRollout theirs = answer.getValue().get(key);
      if (theirs == null) {
        without.add(answer.getKey());
        continue;
      }
      proxies += theirs.proxies();
      if (theirs.published() && theirs.version().equals(version)) {
        holding += theirs.holding();
        rejected.addAll(theirs.rejected());
      }
    }
    rejected.sort(Comparator.comparing(Rollout.Rejected::nodeId));
    int replicas = 1 + peers.peers();
    int answered = 1 + peers.answered().size();
    String held =
        holding
            + " of "
            + proxies
            + (proxies == 1 ? " proxy" : " proxies")
            + (answered < replicas ? " on " + answered + " of " + replicas + " replicas" : "")
            + (proxies == 1 ? " holds it" : " hold it");
    String replicaNotes =
        names(peers.unanswered().keySet(), "did not answer", "did not answer")
            + names(
                without, "has not accepted this version yet", "have not accepted this version yet");
    if (!rejected.isEmpty()) {
      Rollout.Rejected first = rejected.get(0);
      int others = rejected.size() - 1;
      return new ConfigCondition(
          PROGRAMMED,
          false,
          REJECTED,
          held
              + "; proxy "
              + first.nodeId()
              + " rejected it: "
              + first.detail()
              + (others == 0 ? "" : " (and " + others + " more proxies)")
              + replicaNotes);
    }
    return holding == proxies && replicaNotes.isEmpty()
        ? new ConfigCondition(PROGRAMMED, true, PROGRAMMED, held)
        : new ConfigCondition(PROGRAMMED, false, PENDING, held + replicaNotes);
  }

  /** "; replica a did not answer", "; replicas a, b did not answer", or nothing. */
  private static String names(Collection<String> replicas, String one, String several) {
    if (replicas.isEmpty()) {
      return "";
    }
    List<String> sorted = replicas.stream().sorted().toList();
    return sorted.size() == 1
        ? "; replica " + sorted.get(0) + " " + one
        : "; replicas " + String.join(", ", sorted) + " " + several;
  }
}
