package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.MeshRegistry;
import dev.weft.telemetry.TelemetryCollector;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusScrapeEndpoint;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The telemetry collector (docs/telemetry.md): its receivers (OTLP, Envoy's Metrics and Access Log
 * Services) are served on the xDS ports by {@link XdsConfiguration} and {@link CaConfiguration};
 * its own counters go to the application's Micrometer registry, and its golden metrics to {@code
 * /actuator/prometheus} through {@link GoldenMetricsScrapeEndpoint}, which takes the place of
 * Spring Boot's endpoint.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty(name = "weft.telemetry.enabled", matchIfMissing = true)
class TelemetryConfiguration {

  @Bean
  TelemetryCollector telemetryCollector(
      MeterRegistry meters,
      MeshRegistry registry,
      ConfigDistributor distributor,
      WeftProperties properties,
      Environment environment) {
    WeftProperties.Telemetry settings = properties.telemetry();
    TelemetryCollector.Builder builder =
        TelemetryCollector.builder(
                meters,
                new RegistryDestinations(registry, distributor, properties.xds().clusterDomain()))
            .trustDomain(properties.ca().trustDomain())
            // In a cluster who reports must be who its certificate says; standalone, senders
            // without one are named by their OTLP resource.
            .requireCertificate(KubernetesMode.active(environment));
    XdsConfiguration.limit(
        "weft.telemetry.max-series", () -> builder.maxSeries(settings.maxSeries()));
    XdsConfiguration.limit(
        "weft.telemetry.max-tracked-series",
        () ->
            builder.maxTrackedSeries(
                settings.maxTrackedSeries(), settings.trackedSeriesIdleAfter()));
    XdsConfiguration.limit(
        "weft.telemetry.max-data-points-per-export",
        () -> builder.maxDataPointsPerExport(settings.maxDataPointsPerExport()));
    // The receiver shares the xDS ports, and so their message size limit.
    long messageSize = properties.xds().limits().maxMessageSize().toBytes();
    XdsConfiguration.limit(
        "weft.xds.limits.max-message-size",
        () -> builder.maxExportBytes((int) Math.min(messageSize, Integer.MAX_VALUE)));
    XdsConfiguration.limit(
        "weft.telemetry.window", () -> builder.window(settings.window(), settings.windowSlot()));
    return builder.build();
  }

  @Bean
  @ConditionalOnAvailableEndpoint(PrometheusScrapeEndpoint.class)
  PrometheusScrapeEndpoint prometheusEndpoint(
      PrometheusRegistry registry, PrometheusConfig config, TelemetryCollector telemetry) {
    return new GoldenMetricsScrapeEndpoint(registry, config.prometheusProperties(), telemetry);
  }
}
