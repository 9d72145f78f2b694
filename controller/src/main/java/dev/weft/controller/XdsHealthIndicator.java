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
    return health.withDetail("proxies", distributor.connectedProxies()).build();
  }
}
