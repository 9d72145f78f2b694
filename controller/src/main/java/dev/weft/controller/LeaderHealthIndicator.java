package dev.weft.controller;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Says whether this replica leads (runs status writes, the CA's root rotation and the trust
 * bundle), and who does. Always UP: following is as healthy as leading, so it is not part of
 * readiness.
 */
@Component("leader")
class LeaderHealthIndicator implements HealthIndicator {

  private final ObjectProvider<LeaderElection> election;

  LeaderHealthIndicator(ObjectProvider<LeaderElection> election) {
    this.election = election;
  }

  @Override
  public Health health() {
    LeaderElection elected = election.getIfAvailable();
    if (elected == null) {
      return Health.up().withDetail("leading", true).withDetail("mode", "standalone").build();
    }
    return Health.up()
        .withDetail("identity", elected.identity())
        .withDetail("leading", elected.isLeader())
        .withDetail("leader", elected.leader())
        .build();
  }
}
