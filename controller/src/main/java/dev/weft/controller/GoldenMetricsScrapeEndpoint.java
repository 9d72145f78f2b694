package dev.weft.controller;

import dev.weft.telemetry.TelemetryCollector;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
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
 * series: with the client's generic writer, a scrape took 340 ms of CPU; see docs/performance.md,
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
    Chunks out = new Chunks();
    try {
      writer.write(out, registry.scrape(included));
      telemetry.writePrometheusText(included, out);
    } catch (IOException e) {
      throw new UncheckedIOException("writing metrics failed", e);
    }
    return new WebEndpointResponse<>(out.toByteArray(), PrometheusOutputFormat.CONTENT_TYPE_004);
  }

  /**
   * Bytes in chunks small enough not to be humongous objects for G1 (under half a region), so a
   * scrape of tens of megabytes allocates one large array, the body, rather than the doubling
   * buffers and the copy of a {@link java.io.ByteArrayOutputStream}: each large array started a
   * collection of its own.
   */
  private static final class Chunks extends OutputStream {
    private static final int CHUNK = 256 * 1024;
    private final List<byte[]> full = new ArrayList<>();
    private byte[] current = new byte[CHUNK];
    private int used;

    @Override
    public void write(int b) {
      if (used == CHUNK) {
        next();
      }
      current[used++] = (byte) b;
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
      while (length > 0) {
        if (used == CHUNK) {
          next();
        }
        int n = Math.min(length, CHUNK - used);
        System.arraycopy(bytes, offset, current, used, n);
        used += n;
        offset += n;
        length -= n;
      }
    }

    private void next() {
      full.add(current);
      current = new byte[CHUNK];
      used = 0;
    }

    byte[] toByteArray() {
      byte[] all = new byte[full.size() * CHUNK + used];
      int at = 0;
      for (byte[] chunk : full) {
        System.arraycopy(chunk, 0, all, at, CHUNK);
        at += CHUNK;
      }
      System.arraycopy(current, 0, all, at, used);
      return all;
    }
  }
}
