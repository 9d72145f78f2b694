package dev.weft.telemetry;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Writes the golden metrics in the Prometheus text format (version 0.0.4), as Micrometer's
 * Prometheus registry named them: {@code weft_requests_total} (a counter), {@code
 * weft_request_duration_milliseconds} (a histogram: {@code _bucket}, {@code _count}, {@code _sum})
 * and {@code weft_request_duration_milliseconds_max} (a gauge), with the same help texts, labels in
 * the same order and numbers written the same way.
 *
 * <p>Written directly, from each series' label text rendered once, because a scrape of a mesh's
 * golden metrics is tens of megabytes (16 lines of some 330 bytes per series): the Prometheus
 * client's generic writer, one character at a time, was most of a 340 ms scrape of 6,000 series.
 */
final class PrometheusText {

  static final String REQUESTS = "weft_requests_total";
  static final String DURATION = "weft_request_duration_milliseconds";
  static final String DURATION_MAX = "weft_request_duration_milliseconds_max";

  private static final String REQUESTS_HELP =
      "Requests between workloads and services, as their proxies reported";
  private static final String DURATION_HELP = "Duration of requests between workloads and services";

  /** The Prometheus buckets' upper bounds, as {@code le} values, and {@code +Inf}. */
  private static final byte[][] LE;

  /** For each Prometheus bucket, the last {@link LatencyBuckets} bucket it holds. */
  private static final int[] LAST_FINE_BUCKET;

  static {
    double[] bounds = LatencyBuckets.prometheusUpperBoundsMillis();
    LE = new byte[bounds.length + 1][];
    LAST_FINE_BUCKET = new int[bounds.length];
    for (int i = 0; i < bounds.length; i++) {
      LE[i] = (",le=\"" + bounds[i] + "\"} ").getBytes(StandardCharsets.US_ASCII);
      LAST_FINE_BUCKET[i] = LatencyBuckets.indexOf(bounds[i]);
    }
    LE[bounds.length] = ",le=\"+Inf\"} ".getBytes(StandardCharsets.US_ASCII);
  }

  private PrometheusText() {}

  /** Labels as the text format writes them between braces: {@code name="value",...}. */
  static String labels(Map<String, String> labels) {
    StringBuilder text = new StringBuilder();
    labels.forEach(
        (name, value) -> {
          if (!text.isEmpty()) {
            text.append(',');
          }
          text.append(name).append("=\"");
          for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
              case '\\' -> text.append("\\\\");
              case '"' -> text.append("\\\"");
              case '\n' -> text.append("\\n");
              default -> text.append(c);
            }
          }
          text.append('"');
        });
    return text.toString();
  }

  /**
   * Writes the families {@code includedNames} accepts, by the names Prometheus gives them ({@code
   * weft_requests}, {@code weft_request_duration_milliseconds} and its {@code _max}); a family
   * without series is left out, as Micrometer leaves out a meter never registered.
   */
  static void write(
      List<GoldenMetrics.Totals> series, Predicate<String> includedNames, OutputStream out)
      throws IOException {
    if (series.isEmpty()) {
      return;
    }
    Buffer buffer = new Buffer(out);
    if (includedNames.test(DURATION)) {
      buffer.header(DURATION, DURATION_HELP, "histogram");
      for (GoldenMetrics.Totals totals : series) {
        long[] counts = totals.bucketCounts();
        long cumulative = 0;
        int fine = 0;
        for (int bucket = 0; bucket < LAST_FINE_BUCKET.length; bucket++) {
          for (; fine <= LAST_FINE_BUCKET[bucket]; fine++) {
            cumulative += counts[fine];
          }
          buffer.sample(BUCKET, totals.labelText(), LE[bucket]).number(cumulative);
        }
        long count = totals.requests();
        buffer.sample(BUCKET, totals.labelText(), LE[LE.length - 1]).number(count);
        buffer.sample(COUNT, totals.labelText(), CLOSE).number(count);
        buffer.sample(SUM, totals.labelText(), CLOSE).number(totals.sumMillis());
      }
    }
    if (includedNames.test(DURATION_MAX)) {
      buffer.header(DURATION_MAX, DURATION_HELP, "gauge");
      for (GoldenMetrics.Totals totals : series) {
        buffer.sample(MAX, totals.labelText(), CLOSE).number(totals.maxMillis());
      }
    }
    if (includedNames.test("weft_requests")) {
      buffer.header(REQUESTS, REQUESTS_HELP, "counter");
      for (GoldenMetrics.Totals totals : series) {
        buffer.sample(TOTAL, totals.labelText(), CLOSE).number((double) totals.requests());
      }
    }
    buffer.flush();
  }

  private static final byte[] BUCKET = ascii(DURATION + "_bucket{");
  private static final byte[] COUNT = ascii(DURATION + "_count{");
  private static final byte[] SUM = ascii(DURATION + "_sum{");
  private static final byte[] MAX = ascii(DURATION_MAX + "{");
  private static final byte[] TOTAL = ascii(REQUESTS + "{");
  private static final byte[] CLOSE = ascii("} ");

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** Bytes on their way to the stream, in chunks of 64 KiB. */
  private static final class Buffer {
    private final OutputStream out;
    private final byte[] bytes = new byte[64 * 1024];
    private final byte[] digits = new byte[20];
    private int size;

    Buffer(OutputStream out) {
      this.out = out;
    }

    void header(String name, String help, String type) throws IOException {
      text("# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n");
    }

    Buffer sample(byte[] nameAndBrace, byte[] labels, byte[] close) throws IOException {
      append(nameAndBrace);
      append(labels);
      append(close);
      return this;
    }

    void number(long value) throws IOException {
      if (value < 0) {
        text(Long.toString(value));
      } else {
        int at = digits.length;
        do {
          digits[--at] = (byte) ('0' + value % 10);
          value /= 10;
        } while (value > 0);
        append(digits, at, digits.length - at);
      }
      newline();
    }

    void number(double value) throws IOException {
      text(Double.isInfinite(value) ? (value > 0 ? "+Inf" : "-Inf") : Double.toString(value));
      newline();
    }

    private void newline() throws IOException {
      if (size == bytes.length) {
        flush();
      }
      bytes[size++] = '\n';
    }

    private void text(String text) throws IOException {
      append(text.getBytes(StandardCharsets.UTF_8));
    }

    private void append(byte[] data) throws IOException {
      append(data, 0, data.length);
    }

    private void append(byte[] data, int offset, int length) throws IOException {
      if (size + length > bytes.length) {
        flush();
        if (length > bytes.length) {
          out.write(data, offset, length);
          return;
        }
      }
      System.arraycopy(data, offset, bytes, size, length);
      size += length;
    }

    void flush() throws IOException {
      out.write(bytes, 0, size);
      size = 0;
    }
  }

  static List<GoldenMetrics.Totals> collect(GoldenMetrics golden) {
    List<GoldenMetrics.Totals> all = new ArrayList<>(golden.size());
    golden.forEach(all::add);
    return all;
  }
}
