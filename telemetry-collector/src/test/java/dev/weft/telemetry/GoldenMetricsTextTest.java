package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The golden metrics as Prometheus scrapes them: exactly the lines Micrometer's Prometheus registry
 * wrote for the same series (help, type, label order, number formats), and exact counts when
 * receivers record into one series at once.
 */
class GoldenMetricsTextTest {

  private final CumulativeDeltasTest.MutableClock clock = new CumulativeDeltasTest.MutableClock();
  private final GoldenMetrics golden =
      new GoldenMetrics(
          new SimpleMeterRegistry(), clock, 10, Duration.ofMinutes(1), Duration.ofSeconds(5));

  private static final GoldenMetrics.SeriesKey WEB_TO_GREETER =
      new GoldenMetrics.SeriesKey(
          GoldenMetrics.REPORTER_SOURCE,
          "web",
          "shop",
          Reporter.UNKNOWN,
          Reporter.UNKNOWN,
          "greeter.shop.svc.cluster.local",
          Destination.UNKNOWN_VERSION,
          0,
          GoldenMetrics.SeriesKey.GRPC_RESPONSE_CODE,
          "none");

  private static final String LABELS =
      "connection_security_policy=\"none\",destination_service=\"greeter.shop.svc.cluster.local\","
          + "destination_version=\"unknown\",destination_workload=\"unknown\","
          + "destination_workload_namespace=\"unknown\",grpc_response_status=\"0\","
          + "reporter=\"source\",response_code=\"200\",source_workload=\"web\","
          + "source_workload_namespace=\"shop\"";

  @Test
  void aSeriesIsWrittenAsMicrometerWroteIt() throws IOException {
    long[] counts = new long[LatencyBuckets.COUNT];
    counts[LatencyBuckets.indexOf(2.5)] = 3; // 2 - 3 ms: counts as 2.5
    counts[LatencyBuckets.indexOf(22)] = 1; // 20 - 25 ms: counts as 22.5
    assertThat(golden.record(WEB_TO_GREETER, counts)).isTrue();

    String bucket = "weft_request_duration_milliseconds_bucket{" + LABELS + ",le=\"";
    assertThat(text(name -> true))
        .isEqualTo(
            String.join(
                "\n",
                "# HELP weft_request_duration_milliseconds Duration of requests between workloads"
                    + " and services",
                "# TYPE weft_request_duration_milliseconds histogram",
                bucket + "1.0\"} 0",
                bucket + "5.0\"} 3",
                bucket + "10.0\"} 3",
                bucket + "25.0\"} 4",
                bucket + "50.0\"} 4",
                bucket + "100.0\"} 4",
                bucket + "250.0\"} 4",
                bucket + "500.0\"} 4",
                bucket + "1000.0\"} 4",
                bucket + "5000.0\"} 4",
                bucket + "10000.0\"} 4",
                bucket + "+Inf\"} 4",
                "weft_request_duration_milliseconds_count{" + LABELS + "} 4",
                "weft_request_duration_milliseconds_sum{" + LABELS + "} 30.0",
                "# HELP weft_request_duration_milliseconds_max Duration of requests between"
                    + " workloads and services",
                "# TYPE weft_request_duration_milliseconds_max gauge",
                "weft_request_duration_milliseconds_max{" + LABELS + "} 22.5",
                "# HELP weft_requests_total Requests between workloads and services, as their"
                    + " proxies reported",
                "# TYPE weft_requests_total counter",
                "weft_requests_total{" + LABELS + "} 4.0",
                ""));

    // The max is over the window; the totals stay.
    clock.advance(Duration.ofMinutes(2));
    assertThat(text(name -> true))
        .contains("weft_request_duration_milliseconds_max{" + LABELS + "} 0.0\n")
        .contains("weft_requests_total{" + LABELS + "} 4.0\n");
    // A scrape that names some families gets those only.
    assertThat(text("weft_requests"::equals))
        .startsWith("# HELP weft_requests_total")
        .doesNotContain("weft_request_duration");
  }

  @Test
  void labelValuesAreEscaped() {
    assertThat(
            PrometheusText.labels(
                new GoldenMetrics.SeriesKey(
                        "source", "a\"b", "c\\d", "e\nf", "x", "y", "z", 1, "200", "none")
                    .labels()))
        .contains("destination_workload=\"e\\nf\"")
        .contains("source_workload=\"a\\\"b\"")
        .contains("source_workload_namespace=\"c\\\\d\"");
  }

  @Test
  void receiversRecordingAtOnceLoseNoCall() throws Exception {
    long[] one = new long[LatencyBuckets.COUNT];
    one[LatencyBuckets.indexOf(2.5)] = 1;
    int threads = 4;
    int records = 20_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < records; i++) {
                    golden.record(WEB_TO_GREETER, one);
                  }
                }));
      }
      for (Future<?> future : done) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(text(name -> true))
        .contains("weft_requests_total{" + LABELS + "} " + (double) (threads * records) + "\n");
    assertThat(golden.edges(Duration.ofMinutes(1)).get(0).requests())
        .isEqualTo((long) threads * records);
  }

  private String text(java.util.function.Predicate<String> includedNames) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusText.write(PrometheusText.collect(golden), includedNames, out);
    return out.toString(StandardCharsets.UTF_8);
  }
}
