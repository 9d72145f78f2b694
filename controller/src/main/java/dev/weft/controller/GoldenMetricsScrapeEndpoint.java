package dev.weft.controller;

import dev.weft.telemetry.TelemetryCollector;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusOutputFormat;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusScrapeEndpoint;

/**
 * {@code /actuator/prometheus} with the golden metrics: what the Prometheus registry holds (the
 * control plane's own meters), written by the Prometheus client, and then the telemetry collector's
 * golden metrics, which it writes itself (a scrape of 6,000 series is 33 MB of text, 16 lines per
 * series: the client's generic writer took over a second for it; see docs/performance.md,
 * "Telemetry collector").
 *
 * <p>It always answers in the Prometheus text format 0.0.4, whatever format the request prefers:
 * every Prometheus reads it (the content type says which format it is), and the golden metrics have
 * nothing the other formats would add (no exemplars, no native histograms).
 */
class GoldenMetricsScrapeEndpoint extends PrometheusScrapeEndpoint {

  private final PrometheusRegistry registry;
  private final PrometheusTextFormatWriter writer;
  private final TelemetryCollector telemetry;

  /** The last scrape's size and a little more: a buffer that need not grow. */
  private volatile int nextScrapeBytes = 16 * 1024;

  GoldenMetricsScrapeEndpoint(
      PrometheusRegistry registry, Properties exporterProperties, TelemetryCollector telemetry) {
    super(registry, exporterProperties);
    this.registry = registry;
    this.writer = ExpositionFormats.init().getPrometheusTextFormatWriter();
    this.telemetry = telemetry;
  }

  @Override
  @ReadOperation(producesFrom = PrometheusOutputFormat.class)
  public WebEndpointResponse<byte[]> scrape(
      PrometheusOutputFormat format, @Nullable Set<String> includedNames) {
    Predicate<String> included = includedNames == null ? name -> true : includedNames::contains;
    ByteArrayOutputStream out = new ByteArrayOutputStream(nextScrapeBytes);
    try {
      writer.write(out, registry.scrape(included));
      telemetry.writePrometheusText(included, out);
    } catch (IOException e) {
      throw new UncheckedIOException("writing metrics failed", e);
    }
    byte[] body = out.toByteArray();
    nextScrapeBytes = body.length + 64 * 1024;
    return new WebEndpointResponse<>(body, PrometheusOutputFormat.CONTENT_TYPE_004);
  }
}
