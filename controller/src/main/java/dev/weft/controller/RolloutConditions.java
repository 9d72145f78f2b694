package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.Rollout;
import dev.weft.registry.ConfigCondition;
import dev.weft.registry.ConfigStatus;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;

/**
 * The {@code Programmed} condition of a route or policy, as users read it: true only when the
 * proxies it concerns hold its accepted version ("N of M proxies hold it"), false with the proxy
 * and its error when one rejected it. The status writer, the debug API and the page all show this
 * one.
 */
final class RolloutConditions {

  static final String PROGRAMMED = "Programmed";
  static final String PENDING = "Pending";
  static final String REJECTED = "Rejected";

  private RolloutConditions() {}

  static ConfigCondition programmed(MeshState state, ConfigDistributor distributor, ObjectKey key) {
    ConfigCondition published = ConfigStatus.programmed(state, distributor.published(), key);
    MeshConfig config = state.config(key).orElse(null);
    if (!published.status() || config == null) {
      return published; // no valid version, or not yet in what is sent to proxies
    }
    Rollout rollout = distributor.rollout(config).orElse(null);
    if (rollout == null) {
      return new ConfigCondition(PROGRAMMED, false, PENDING, "not yet sent to proxies");
    }
    String held =
        rollout.holding()
            + " of "
            + rollout.proxies()
            + (rollout.proxies() == 1 ? " proxy holds it" : " proxies hold it");
    if (!rollout.rejected().isEmpty()) {
      Rollout.Rejected first = rollout.rejected().get(0);
      int others = rollout.rejected().size() - 1;
      return new ConfigCondition(
          PROGRAMMED,
          false,
          REJECTED,
          held
              + "; proxy "
              + first.nodeId()
              + " rejected it: "
              + first.detail()
              + (others == 0 ? "" : " (and " + others + " more proxies)"));
    }
    return rollout.complete()
        ? new ConfigCondition(PROGRAMMED, true, PROGRAMMED, held)
        : new ConfigCondition(PROGRAMMED, false, PENDING, held);
  }
}
