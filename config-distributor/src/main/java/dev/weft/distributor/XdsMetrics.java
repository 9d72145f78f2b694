package dev.weft.distributor;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * The distributor's meters, registered once and looked up by type without allocation. Thread-safe:
 * Micrometer meters are.
 */
final class XdsMetrics {

  private final Map<ResourceType, Counter> pushes = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Counter> nacks = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Timer> pushTime = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Timer> convergence = new EnumMap<>(ResourceType.class);
  private final Map<Refusal, Counter> refusals = new EnumMap<>(Refusal.class);
  private final Counter unknownClusters;

  /** Why a stream was refused: the limit a client exceeded. */
  enum Refusal {
    NAMES_PER_REQUEST,
    NAMES_PER_STREAM,
    NAME_LENGTH,
    MESSAGE_SIZE,
    LOAD_REPORT_CLUSTERS,
    IDENTITY_MISMATCH;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  XdsMetrics(MeterRegistry meters, IntSupplier connectedProxies) {
    Gauge.builder("weft.xds.proxies", connectedProxies::getAsInt)
        .description("Proxies with an open ADS stream")
        .register(meters);
    for (ResourceType type : ResourceType.values()) {
      String tag = type.name().toLowerCase(Locale.ROOT);
      pushes.put(
          type,
          Counter.builder("weft.xds.pushes")
              .description("Discovery responses sent")
              .tag("type", tag)
              .register(meters));
      nacks.put(
          type,
          Counter.builder("weft.xds.nacks")
              .description("Responses a proxy rejected")
              .tag("type", tag)
              .register(meters));
      pushTime.put(
          type,
          Timer.builder("weft.xds.push.time")
              .description("Time to build and send one discovery response")
              .tag("type", tag)
              .publishPercentiles(0.5, 0.99)
              .register(meters));
      convergence.put(
          type,
          Timer.builder("weft.xds.convergence")
              .description("From a registry change reaching the distributor to a proxy's ACK")
              .tag("type", tag)
              .publishPercentiles(0.5, 0.99)
              .register(meters));
    }
    for (Refusal reason : Refusal.values()) {
      refusals.put(
          reason,
          Counter.builder("weft.xds.refused")
              .description("Streams ended because the client exceeded a limit, by limit")
              .tag("reason", reason.tag())
              .register(meters));
    }
    unknownClusters =
        Counter.builder("weft.xds.load_reports.unknown_clusters")
            .description(
                "Per-cluster load reports dropped: the cluster is not a known Service port")
            .register(meters);
  }

  void pushed(ResourceType type, long nanos) {
    pushes.get(type).increment();
    pushTime.get(type).record(Duration.ofNanos(nanos));
  }

  void acked(ResourceType type, long nanosSincePublished) {
    convergence.get(type).record(Duration.ofNanos(nanosSincePublished));
  }

  void nacked(ResourceType type) {
    nacks.get(type).increment();
  }

  void refused(Refusal reason) {
    refusals.get(reason).increment();
  }

  void unknownClusters(int count) {
    unknownClusters.increment(count);
  }
}
