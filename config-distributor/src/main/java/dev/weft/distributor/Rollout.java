package dev.weft.distributor;

import java.util.List;

/**
 * How far one version of a route or policy has reached the proxies it concerns: those that watch a
 * Service it attaches to (or serve in its namespace, for policies servers enforce).
 *
 * @param proxies how many connected proxies it concerns
 * @param holding how many of them hold it: they have acknowledged every response since it was
 *     published, and rejected none
 * @param rejected those that rejected a newer response and so do not hold it, with their error
 */
public record Rollout(int proxies, int holding, List<Rejected> rejected) {

  public Rollout {
    rejected = List.copyOf(rejected);
  }

  /** A proxy that rejected configuration, and why (its NACK's message). */
  public record Rejected(String nodeId, String detail) {}

  /** Whether every proxy it concerns holds it. */
  public boolean complete() {
    return holding == proxies;
  }
}
