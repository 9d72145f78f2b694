package dev.weft.controller;

import dev.weft.ca.CaServer;
import java.util.Optional;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Reports the CA UP while its CSR service is serving, with its port and identity; DOWN with the
 * reason while it is not (its key material could not be loaded yet, say).
 */
@Component("ca")
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaHealthIndicator implements HealthIndicator {

  private final CaLifecycle ca;

  CaHealthIndicator(CaLifecycle ca) {
    this.ca = ca;
  }

  @Override
  public Health health() {
    Optional<CaServer> server = ca.server();
    if (server.isEmpty()) {
      return Health.down().withDetail("reason", ca.problem()).build();
    }
    return Health.up()
        .withDetail("port", server.get().port())
        .withDetail("spiffeId", server.get().spiffeId())
        .withDetail("authorities", ca.authority().map(a -> a.authorities().size()).orElse(0))
        .build();
  }
}
