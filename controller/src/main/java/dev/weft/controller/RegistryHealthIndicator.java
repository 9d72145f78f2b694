package dev.weft.controller;

import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Reports the registry DOWN until its source has delivered its initial state, so that readiness
 * (and anything that pushes config) waits for a complete view of the mesh.
 */
@Component("registry")
class RegistryHealthIndicator implements HealthIndicator {

  private final MeshRegistry registry;
  private final RegistryConfiguration.RegistrySourceLifecycle source;

  RegistryHealthIndicator(
      MeshRegistry registry, RegistryConfiguration.RegistrySourceLifecycle source) {
    this.registry = registry;
    this.source = source;
  }

  @Override
  public Health health() {
    MeshState state = registry.current();
    Health.Builder health = registry.isSynced() ? Health.up() : Health.down();
    if (!registry.isSynced()) {
      health.withDetail(
          "reason",
          source
              .problem()
              .map(problem -> "initial sync failed, retrying: " + problem)
              .orElse("initial sync of the registry source is not complete"));
    }
    return health
        .withDetail("synced", registry.isSynced())
        .withDetail("version", state.version())
        .withDetail("services", state.services().size())
        .withDetail("rejections", state.rejections().size())
        .build();
  }
}
