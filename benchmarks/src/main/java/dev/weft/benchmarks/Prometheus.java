package dev.weft.benchmarks;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One scrape in the Prometheus text format, as series (name with labels) and values: enough to
 * count a program's series and compare two scrapes' counters.
 *
 * @param series each sample line's series, {@code name{labels}}, with its value
 */
record Prometheus(Map<String, Double> series) {

  static Prometheus parse(String text) {
    Map<String, Double> series = new LinkedHashMap<>();
    for (String line : text.lines().toList()) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      // Label values may hold spaces, the value never does: it follows the last one (no
      // timestamps in Micrometer's scrape).
      int space = line.lastIndexOf(' ');
      if (space > 0) {
        series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    return new Prometheus(series);
  }

  /** How many series have names starting with {@code prefix}. */
  int count(String prefix) {
    return (int) series.keySet().stream().filter(s -> s.startsWith(prefix)).count();
  }

  /**
   * The sum of every series of metric {@code name}, whatever their labels; 0 when there is none.
   */
  double value(String name) {
    double sum = 0;
    for (Map.Entry<String, Double> entry : series.entrySet()) {
      String key = entry.getKey();
      if (key.equals(name) || key.startsWith(name + "{")) {
        sum += entry.getValue();
      }
    }
    return sum;
  }

  /** The value of one series, {@code name{labels}} exactly as scraped; 0 when absent. */
  double get(String series) {
    return this.series.getOrDefault(series, 0.0);
  }
}
