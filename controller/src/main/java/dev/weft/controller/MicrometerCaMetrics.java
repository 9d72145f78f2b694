package dev.weft.controller;

import dev.weft.ca.AuthorityInfo;
import dev.weft.ca.CaMetrics;
import dev.weft.ca.RefusalReason;
import dev.weft.ca.WorkloadIdentity;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CA's events as Micrometer meters: {@code weft.ca.issued}, {@code weft.ca.refused} (tagged
 * {@code reason}), {@code weft.ca.signing} and {@code weft.ca.authority.expiry}.
 *
 * <p>The expiry gauge is read at scrape time from each authority's {@code notAfter} and the clock,
 * one row per authority the CA holds ({@link #authorities}, called after every rotation check or
 * reload), so followers, which never run the rotation check, report it too, and an authority that
 * left the CA leaves the gauge.
 *
 * <p>Thread-safety: counters and timers are Micrometer's (thread-safe); the gauge's rows are
 * replaced whole by {@link MultiGauge#register}, which is thread-safe.
 */
final class MicrometerCaMetrics implements CaMetrics {

  private final Counter issued;
  private final Timer signing;
  private final Map<RefusalReason, Counter> refused = new EnumMap<>(RefusalReason.class);
  private final MultiGauge expiry;
  private final Clock clock;

  MicrometerCaMetrics(MeterRegistry meters, Clock clock) {
    this.clock = clock;
    this.issued =
        Counter.builder("weft.ca.issued")
            .description("Workload certificates issued")
            .register(meters);
    this.signing =
        Timer.builder("weft.ca.signing")
            .description("Time to validate a CSR and sign its certificate")
            .register(meters);
    // Registered up front so that a dashboard sees zeros rather than no series.
    for (RefusalReason reason : RefusalReason.values()) {
      refused.put(
          reason,
          Counter.builder("weft.ca.refused")
              .description("Certificate requests refused, by reason")
              .tag("reason", reason.name().toLowerCase(Locale.ROOT))
              .register(meters));
    }
    this.expiry =
        MultiGauge.builder("weft.ca.authority.expiry")
            .description("Seconds until a signing certificate of the CA expires")
            .baseUnit("seconds")
            .register(meters);
  }

  @Override
  public void issued(WorkloadIdentity identity, long signingNanos) {
    issued.increment();
    signing.record(signingNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void refused(RefusalReason reason) {
    refused.get(reason).increment();
  }

  /** The authorities the CA holds now: one gauge row each, replacing the previous rows. */
  void authorities(List<AuthorityInfo> authorities) {
    expiry.register(
        authorities.stream()
            .<MultiGauge.Row<?>>map(
                authority ->
                    MultiGauge.Row.of(
                        Tags.of(
                            "authority", authority.subject(),
                            "kind", authority.kind().name().toLowerCase(Locale.ROOT),
                            "status", authority.status().toLowerCase(Locale.ROOT)),
                        authority,
                        a -> Duration.between(clock.instant(), a.notAfter()).toSeconds()))
            .toList(),
        true);
  }
}
