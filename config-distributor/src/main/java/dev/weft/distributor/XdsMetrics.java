package dev.weft.distributor;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The distributor's meters, registered once and looked up by type without allocation, and the log
 * of refusals. Thread-safe: Micrometer meters are, and so is the throttle.
 */
final class XdsMetrics {

  private static final Logger log = LoggerFactory.getLogger(XdsMetrics.class);

  private final Map<ResourceType, Counter> pushes = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Counter> nacks = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Timer> pushTime = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Timer> convergence = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Timer> sync = new EnumMap<>(ResourceType.class);
  private final Map<Refusal, Counter> refusals = new EnumMap<>(Refusal.class);
  private final Counter unknownClusters;
  private final LogThrottle refusalLog;

  /** The clock versions are stamped with: an ACK is timed on it too. */
  private final LongSupplier nanoClock;

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

  XdsMetrics(
      MeterRegistry meters,
      IntSupplier connectedProxies,
      IntSupplier staleProxies,
      LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
    // Every refusal is counted; one a second is logged, with how many were not.
    this.refusalLog = new LogThrottle(nanoClock, TimeUnit.SECONDS.toNanos(1));
    Gauge.builder("weft.xds.proxies", connectedProxies::getAsInt)
        .description("Proxies with an open ADS stream")
        .register(meters);
    Gauge.builder("weft.xds.proxies.stale", staleProxies::getAsInt)
        .description(
            "Connected proxies that have lacked configuration they should hold (unanswered,"
                + " rejected or held back) for longer than the stale threshold")
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
              .description(
                  "From a registry change reaching the distributor to the ACK of a proxy that was"
                      + " subscribed when it happened")
              .tag("type", tag)
              .publishPercentiles(0.5, 0.99)
              .register(meters));
      sync.put(
          type,
          Timer.builder("weft.xds.sync")
              .description(
                  "From a proxy's request (a new stream, or new names) to its ACK, when what it"
                      + " asked for was already published")
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

  /** Times an ACK as convergence (a change) or as the proxy's sync (its own request). */
  void acked(ResourceType type, InFlight.Sent sent) {
    Duration elapsed = Duration.ofNanos(nanoClock.getAsLong() - sent.sinceNanos());
    (sent.sync() ? sync : convergence).get(type).record(elapsed);
  }

  void nacked(ResourceType type) {
    nacks.get(type).increment();
  }

  /** Counts a refusal and logs {@code what} (who was refused, and why) at WARN, throttled. */
  void refused(Refusal reason, String what) {
    refusals.get(reason).increment();
    OptionalLong held = refusalLog.admit();
    if (held.isEmpty()) {
      return;
    }
    if (held.getAsLong() == 0) {
      log.warn("{}", what);
    } else {
      log.warn(
          "{} ({} more refusals in the last second or more were not logged)",
          what,
          held.getAsLong());
    }
  }

  void unknownClusters(int count) {
    unknownClusters.increment(count);
  }
}
