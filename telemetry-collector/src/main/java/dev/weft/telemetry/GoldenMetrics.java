package dev.weft.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Service-to-service golden metrics: requests (by gRPC status, so errors are the non-OK ones) and
 * latency, per series of Istio's standard labels. Each series keeps its totals per latency bucket
 * (what {@link PrometheusText} writes as {@code weft_requests_total} and {@code
 * weft_request_duration_milliseconds}) and a sliding window that {@link #edges} reads for the
 * service graph.
 *
 * <p>Why not a Micrometer counter and histogram per series, as before: Micrometer takes one
 * observation at a time (an export of 50 calls was 50 recordings, each also keeping a decaying
 * max), and a scrape rendered every series through Micrometer's and the Prometheus client's generic
 * paths, 340 ms of CPU for 6,000 series. Here an export adds its bucket counts under the series'
 * lock, and a scrape writes each series from label text rendered once (docs/performance.md,
 * "Telemetry collector").
 *
 * <p>The number of series is bounded: a series that does not fit is counted in {@code
 * weft_telemetry_series_overflow_total{stage="golden"}} and not kept, so a sender that invents a
 * label value per request cannot grow the collector. Series live as long as the process.
 * Thread-safe.
 */
final class GoldenMetrics {

  static final String REPORTER_SOURCE = "source";
  static final String REPORTER_DESTINATION = "destination";
  static final int GRPC_OK = 0;

  /**
   * One series. {@code reporter} says which side reported the calls ({@code source}: a client's
   * attempts; {@code destination}: a server's calls), and so which labels are known. {@code
   * responseCode} is the HTTP status: {@code 200} for gRPC, which carries its outcome in the
   * status; an Envoy proxy's status, or only its class ({@code 5xx}) where Envoy counts classes.
   */
  record SeriesKey(
      String reporter,
      String sourceWorkload,
      String sourceNamespace,
      String destinationWorkload,
      String destinationNamespace,
      String destinationService,
      String destinationVersion,
      int grpcStatus,
      String responseCode,
      String connectionSecurity) {

    /** The response code of every gRPC call: its outcome is in the status. */
    static final String GRPC_RESPONSE_CODE = "200";

    /** The Prometheus labels, sorted by name (as the Prometheus client writes them). */
    Map<String, String> labels() {
      Map<String, String> labels = new LinkedHashMap<>();
      labels.put("connection_security_policy", connectionSecurity);
      labels.put("destination_service", destinationService);
      labels.put("destination_version", destinationVersion);
      labels.put("destination_workload", destinationWorkload);
      labels.put("destination_workload_namespace", destinationNamespace);
      labels.put("grpc_response_status", Integer.toString(grpcStatus));
      labels.put("reporter", reporter);
      labels.put("response_code", responseCode);
      labels.put("source_workload", sourceWorkload);
      labels.put("source_workload_namespace", sourceNamespace);
      return labels;
    }
  }

  /**
   * One series' totals at a scrape.
   *
   * @param labelText the series' labels in the Prometheus text format, without braces
   * @param bucketCounts calls per {@link LatencyBuckets} bucket, since the series was created
   * @param sumMillis their estimated total duration (each call at the middle of its bucket)
   * @param maxMillis the largest of those estimates over the window, 0 when no call in it
   */
  record Totals(
      byte[] labelText, long[] bucketCounts, long requests, double sumMillis, double maxMillis) {}

  private final Clock clock;
  private final int maxSeries;
  private final long slotMillis;
  private final int slotCount;
  private final Duration retention;
  private final ConcurrentHashMap<SeriesKey, Series> series = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private final Counter overflow;

  /**
   * @param retention the longest window {@link #edges} answers for
   * @param slot the window's resolution: calls are placed in the slot in which they were reported
   */
  GoldenMetrics(
      MeterRegistry meters, Clock clock, int maxSeries, Duration retention, Duration slot) {
    if (maxSeries < 1) {
      throw new IllegalArgumentException("maxSeries must be at least 1: " + maxSeries);
    }
    if (slot.toMillis() < 1 || retention.compareTo(slot) < 0) {
      throw new IllegalArgumentException(
          "the window's slot ("
              + slot
              + ") must be positive and at most its retention "
              + retention);
    }
    this.clock = clock;
    this.maxSeries = maxSeries;
    this.retention = retention;
    this.slotMillis = slot.toMillis();
    // One more slot than the retention needs: the current slot is still filling.
    this.slotCount = (int) ((retention.toMillis() + slotMillis - 1) / slotMillis) + 1;
    this.overflow = overflowCounter(meters, "golden");
  }

  static Counter overflowCounter(MeterRegistry meters, String stage) {
    return Counter.builder("weft.telemetry.series.overflow")
        .description(
            "Reports dropped because the collector keeps no more series (the configured bound)")
        .tag("stage", stage)
        .register(meters);
  }

  /**
   * Adds calls to a series.
   *
   * @param bucketCounts the calls per {@link LatencyBuckets} bucket
   * @return false when the series is new and no room is left for it (counted as overflow)
   */
  boolean record(SeriesKey key, long[] bucketCounts) {
    Series target = series.get(key);
    if (target == null) {
      target = admit(key);
      if (target == null) {
        overflow.increment();
        return false;
      }
    }
    target.add(bucketCounts, clock.millis());
    return true;
  }

  int size() {
    return size.get();
  }

  /** Every series' totals now; {@code visitor} runs under no lock of this class. */
  void forEach(Consumer<Totals> visitor) {
    long currentSlot = clock.millis() / slotMillis;
    long firstSlot = currentSlot - slotCount + 1;
    series.values().forEach(kept -> visitor.accept(kept.totals(firstSlot, currentSlot)));
  }

  /**
   * The service graph's edges over the last {@code window}: the calls clients reported, per source
   * workload, destination service and version and connection security, across gRPC statuses.
   */
  List<EdgeStats> edges(Duration window) {
    if (window.compareTo(retention) > 0 || window.toMillis() < slotMillis) {
      throw new IllegalArgumentException(
          "window must be between "
              + Duration.ofMillis(slotMillis)
              + " and "
              + retention
              + ": "
              + window);
    }
    long now = clock.millis();
    long currentSlot = now / slotMillis;
    long slotsInWindow = window.toMillis() / slotMillis;
    long firstSlot = currentSlot - slotsInWindow + 1;
    Map<EdgeStats.Edge, long[]> latency = new LinkedHashMap<>();
    Map<EdgeStats.Edge, long[]> errors = new LinkedHashMap<>();
    series.forEach(
        (key, kept) -> {
          if (!key.reporter().equals(REPORTER_SOURCE)) {
            return;
          }
          long[] counts = kept.sum(firstSlot, currentSlot);
          long requests = total(counts);
          if (requests == 0) {
            return;
          }
          EdgeStats.Edge edge =
              new EdgeStats.Edge(
                  key.sourceWorkload(),
                  key.sourceNamespace(),
                  key.destinationService(),
                  key.destinationVersion(),
                  key.connectionSecurity());
          long[] sum = latency.computeIfAbsent(edge, unused -> new long[LatencyBuckets.COUNT]);
          for (int i = 0; i < sum.length; i++) {
            sum[i] += counts[i];
          }
          if (key.grpcStatus() != GRPC_OK) {
            errors.computeIfAbsent(edge, unused -> new long[1])[0] += requests;
          }
        });
    double seconds = slotsInWindow * slotMillis / 1000.0;
    List<EdgeStats> result = new ArrayList<>();
    latency.forEach(
        (edge, counts) -> {
          long requests = total(counts);
          long failed = errors.getOrDefault(edge, new long[1])[0];
          result.add(
              new EdgeStats(
                  edge,
                  requests,
                  failed,
                  requests / seconds,
                  (double) failed / requests,
                  LatencyBuckets.quantileMillis(counts, 0.5),
                  LatencyBuckets.quantileMillis(counts, 0.99)));
        });
    return result;
  }

  private Series admit(SeriesKey key) {
    // Creation is rare (once per series), so one lock keeps the bound exact.
    synchronized (series) {
      Series existing = series.get(key);
      if (existing != null) {
        return existing;
      }
      if (size.get() >= maxSeries) {
        return null;
      }
      Series created = new Series(key);
      series.put(key, created);
      size.incrementAndGet();
      return created;
    }
  }

  private static long total(long[] counts) {
    long total = 0;
    for (long count : counts) {
      total += count;
    }
    return total;
  }

  /**
   * One series: its totals and its window, guarded by the series' own lock, and its labels as
   * Prometheus text, rendered once.
   */
  private final class Series {
    private final byte[] labelText;
    private final long[] totals = new long[LatencyBuckets.COUNT];
    private long requests;
    private double sumMillis;
    private final long[] slotIds = new long[slotCount];
    private final long[][] slots = new long[slotCount][LatencyBuckets.COUNT];

    /** Per slot, its highest non-empty bucket (-1: none), for the max without a scan. */
    private final int[] slotHighest = new int[slotCount];

    Series(SeriesKey key) {
      this.labelText = PrometheusText.labels(key.labels()).getBytes(StandardCharsets.UTF_8);
      Arrays.fill(slotIds, -1);
      Arrays.fill(slotHighest, -1);
    }

    synchronized void add(long[] bucketCounts, long nowMillis) {
      long slot = nowMillis / slotMillis;
      int index = (int) (slot % slotCount);
      if (slotIds[index] != slot) {
        slotIds[index] = slot;
        Arrays.fill(slots[index], 0);
        slotHighest[index] = -1;
      }
      long[] current = slots[index];
      for (int i = 0; i < bucketCounts.length; i++) {
        long count = bucketCounts[i];
        if (count != 0) {
          totals[i] += count;
          current[i] += count;
          requests += count;
          slotHighest[index] = Math.max(slotHighest[index], i);
          // A value inside the bucket keeps each Prometheus bucket exact; the _sum is an estimate.
          sumMillis += count * LatencyBuckets.representativeMillis(i);
        }
      }
    }

    synchronized long[] sum(long firstSlot, long lastSlot) {
      long[] sum = new long[LatencyBuckets.COUNT];
      for (int index = 0; index < slotCount; index++) {
        if (slotIds[index] >= firstSlot && slotIds[index] <= lastSlot) {
          for (int i = 0; i < sum.length; i++) {
            sum[i] += slots[index][i];
          }
        }
      }
      return sum;
    }

    synchronized Totals totals(long firstSlot, long lastSlot) {
      int highest = -1;
      for (int index = 0; index < slotCount; index++) {
        if (slotIds[index] >= firstSlot && slotIds[index] <= lastSlot) {
          highest = Math.max(highest, slotHighest[index]);
        }
      }
      return new Totals(
          labelText,
          totals.clone(),
          requests,
          sumMillis,
          highest < 0 ? 0 : LatencyBuckets.representativeMillis(highest));
    }
  }
}
