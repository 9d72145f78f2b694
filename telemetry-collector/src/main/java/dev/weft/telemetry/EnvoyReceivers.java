package dev.weft.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** What the two Envoy receivers share: their meters, and how calls get a latency. */
final class EnvoyReceivers {

  private static final int FIELD_NAME_CHARS = 120;

  private EnvoyReceivers() {}

  /** {@code weft_telemetry_envoy_messages_total{service, outcome}}. */
  static Counter messageCounter(MeterRegistry meters, String service, String outcome) {
    return Counter.builder("weft.telemetry.envoy.messages")
        .description("Messages received from Envoy's Metrics and Access Log Services, by outcome")
        .tag("service", service)
        .tag("outcome", outcome)
        .register(meters);
  }

  /** The same counter the OTLP receiver counts unknown targets in. */
  static Counter unknownDestinations(MeterRegistry meters) {
    return Counter.builder("weft.telemetry.destinations.unknown")
        .description(
            "Reported data points whose target the registry does not know (counted, not kept)")
        .register(meters);
  }

  /** A name as a refusal quotes it: cut, so that a huge one does not make a huge status. */
  static String shortened(String name) {
    return name.length() <= FIELD_NAME_CHARS ? name : name.substring(0, FIELD_NAME_CHARS) + "...";
  }

  /**
   * {@code calls} spread over {@link LatencyBuckets} in proportion to {@code latency} (largest
   * remainders first, so the counts add up to {@code calls} exactly). Without a latency
   * distribution (a message whose counters moved but whose histogram recorded nothing, which
   * Envoy's flush makes rare), the calls go to the lowest bucket.
   */
  static long[] apportion(long[] latency, long calls) {
    long[] counts = new long[LatencyBuckets.COUNT];
    long observed = 0;
    if (latency != null) {
      for (long count : latency) {
        observed += count;
      }
    }
    if (observed == 0) {
      counts[0] = calls;
      return counts;
    }
    double[] remainders = new double[counts.length];
    long assigned = 0;
    for (int i = 0; i < counts.length; i++) {
      double exact = (double) latency[i] * calls / observed;
      counts[i] = (long) Math.floor(exact);
      remainders[i] = latency[i] == 0 ? -1 : exact - counts[i];
      assigned += counts[i];
    }
    while (assigned < calls) {
      int largest = 0;
      for (int i = 1; i < remainders.length; i++) {
        if (remainders[i] > remainders[largest]) {
          largest = i;
        }
      }
      counts[largest]++;
      remainders[largest] = -1;
      assigned++;
    }
    return counts;
  }
}
