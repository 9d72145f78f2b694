package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Reports whether configuration is being served to proxies, and how many are connected. */
@Component("xds")
class XdsHealthIndicator implements HealthIndicator {

  private final ConfigDistributor distributor;

  XdsHealthIndicator(ConfigDistributor distributor) {
    this.distributor = distributor;
  }

  @Override
  public Health health() {
    Health.Builder health = distributor.serving() ? Health.up() : Health.down();
    if (!distributor.serving()) {
      health.withDetail("reason", "waiting for the registry's initial sync");
    }
    // Stale proxies are a detail, not a reason to be DOWN: a proxy that does not answer is the
    // proxy's problem, and restarting this replica would not help it.
    return health
        .withDetail("proxies", distributor.connectedProxies())
        .withDetail("staleProxies", distributor.staleProxies())
        .withDetail("staleAfter", distributor.staleAfter().toString())
        .build();
  }
}
