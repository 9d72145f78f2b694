package dev.weft.telemetry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What Prometheus scrapes of a collector's golden metrics: its text, read back into samples (name,
 * labels, value), for tests that check names, labels and counts.
 */
record GoldenScrape(String text, List<Sample> samples) {

  record Sample(String name, Map<String, String> labels, double value) {}

  static GoldenScrape of(TelemetryCollector collector) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      collector.writePrometheusText(name -> true, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String text = out.toString(StandardCharsets.UTF_8);
    List<Sample> samples = new ArrayList<>();
    for (String line : text.lines().toList()) {
      if (line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int close = line.lastIndexOf('}');
      Map<String, String> labels = new LinkedHashMap<>();
      // The values these tests use hold no quote, comma or backslash.
      for (String pair : line.substring(brace + 1, close).split(",")) {
        int equals = pair.indexOf('=');
        labels.put(pair.substring(0, equals), pair.substring(equals + 2, pair.length() - 1));
      }
      samples.add(
          new Sample(
              line.substring(0, brace),
              labels,
              Double.parseDouble(line.substring(close + 2).replace("+Inf", "Infinity"))));
    }
    return new GoldenScrape(text, samples);
  }

  /** The samples of {@code name} whose labels include {@code labels} (name, value, ...). */
  List<Sample> find(String name, String... labels) {
    List<Sample> found = new ArrayList<>();
    for (Sample sample : samples) {
      boolean matches = sample.name().equals(name);
      for (int i = 0; matches && i < labels.length; i += 2) {
        matches = labels[i + 1].equals(sample.labels().get(labels[i]));
      }
      if (matches) {
        found.add(sample);
      }
    }
    return found;
  }

  /** The sum of {@code name}'s samples whose labels include {@code labels}. */
  double sum(String name, String... labels) {
    return find(name, labels).stream().mapToDouble(Sample::value).sum();
  }
}
