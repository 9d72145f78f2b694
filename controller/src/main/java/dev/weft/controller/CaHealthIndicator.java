package dev.weft.controller;

import dev.weft.ca.CertificateAuthority;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Reports the CA UP while its CSR service is serving, with its port and identity. */
@Component("ca")
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaHealthIndicator implements HealthIndicator {

  private final CaConfiguration.CaServerLifecycle server;
  private final CertificateAuthority ca;

  CaHealthIndicator(CaConfiguration.CaServerLifecycle server, CertificateAuthority ca) {
    this.server = server;
    this.ca = ca;
  }

  @Override
  public Health health() {
    if (!server.isRunning()) {
      return Health.down().withDetail("reason", "the CSR service is not serving").build();
    }
    return Health.up()
        .withDetail("port", server.port())
        .withDetail("spiffeId", server.spiffeId())
        .withDetail("authorities", ca.authorities().size())
        .build();
  }
}
