package dev.weft.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Service-to-service golden metrics: requests (by gRPC status, so errors are the non-OK ones) and
 * latency, per series of Istio's standard labels. Each series is a Micrometer counter and histogram
 * ({@code weft_requests_total}, {@code weft_request_duration_milliseconds}) and a sliding window
 * that {@link #edges} reads for the service graph.
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

    Tags tags() {
      return Tags.of(
          "reporter", reporter,
          "source_workload", sourceWorkload,
          "source_workload_namespace", sourceNamespace,
          "destination_workload", destinationWorkload,
          "destination_workload_namespace", destinationNamespace,
          "destination_service", destinationService,
          "destination_version", destinationVersion,
          "grpc_response_status", Integer.toString(grpcStatus),
          "response_code", responseCode,
          "connection_security_policy", connectionSecurity);
    }
  }

  private final MeterRegistry meters;
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
    this.meters = meters;
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
      Series created = new Series(key.tags());
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

  /** One series' meters and window. The window is guarded by the series' own lock. */
  private final class Series {
    private final Counter requests;
    private final DistributionSummary duration;
    private final long[] slotIds = new long[slotCount];
    private final long[][] slots = new long[slotCount][LatencyBuckets.COUNT];

    Series(Tags tags) {
      requests =
          Counter.builder("weft.requests")
              .description("Requests between workloads and services, as their proxies reported")
              .tags(tags)
              .register(meters);
      duration =
          DistributionSummary.builder("weft.request.duration")
              .description("Duration of requests between workloads and services")
              .baseUnit("milliseconds")
              .serviceLevelObjectives(LatencyBuckets.prometheusUpperBoundsMillis())
              .tags(tags)
              .register(meters);
      Arrays.fill(slotIds, -1);
    }

    void add(long[] bucketCounts, long nowMillis) {
      long count = 0;
      for (int i = 0; i < bucketCounts.length; i++) {
        // Micrometer takes one observation at a time; a value inside the bucket keeps each
        // Prometheus bucket exact (the _sum is then an estimate from the bucket middles).
        double value = LatencyBuckets.representativeMillis(i);
        for (long n = 0; n < bucketCounts[i]; n++) {
          duration.record(value);
        }
        count += bucketCounts[i];
      }
      requests.increment(count);
      long slot = nowMillis / slotMillis;
      int index = (int) (slot % slotCount);
      synchronized (this) {
        if (slotIds[index] != slot) {
          slotIds[index] = slot;
          Arrays.fill(slots[index], 0);
        }
        for (int i = 0; i < bucketCounts.length; i++) {
          slots[index][i] += bucketCounts[i];
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
  }
}
