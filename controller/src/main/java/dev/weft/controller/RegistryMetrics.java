package dev.weft.controller;

import dev.weft.registry.MeshRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/** Gauges of the registry's newest snapshot, read when metrics are scraped. */
@Component
class RegistryMetrics implements MeterBinder {

  private final MeshRegistry registry;

  RegistryMetrics(MeshRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void bindTo(MeterRegistry meters) {
    Gauge.builder("weft.registry.version", registry, r -> r.current().version())
        .description("Version of the newest published registry snapshot")
        .register(meters);
    Gauge.builder("weft.registry.synced", registry, r -> r.isSynced() ? 1 : 0)
        .description("1 once the registry source has delivered its initial state")
        .register(meters);
    Gauge.builder("weft.registry.services", registry, r -> r.current().services().size())
        .description("Services in the registry")
        .register(meters);
    Gauge.builder(
            "weft.registry.endpoints",
            registry,
            r -> r.current().endpoints().values().stream().mapToInt(e -> e.all().size()).sum())
        .description("Endpoints in the registry, over all services")
        .register(meters);
    Gauge.builder("weft.registry.rejections", registry, r -> r.current().rejections().size())
        .description("Objects or files rejected by validation")
        .register(meters);
  }
}
