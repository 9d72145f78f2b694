package dev.weft.controller;

import dev.weft.ca.CertificateAuthority;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Keeps the CA's root current: every minute, the replica that leads runs the rotation check ({@link
 * CertificateAuthority#tick}) and the others re-read the stored state ({@link
 * CertificateAuthority#reload}) to follow the leader's rotations. Standalone there is one replica,
 * which always leads. In Kubernetes mode this is a {@link LeaderElection.LeaderTask}: leading
 * starts with a pass at once, which first reloads, so that a new leader continues from what the
 * previous one stored.
 *
 * <p>Thread-safety: passes run on one daemon thread owned here; {@link #leading} is volatile, set
 * by the elector's thread.
 */
final class CaRotation implements LeaderElection.LeaderTask, SmartLifecycle, AutoCloseable {

  /** Who runs the rotation check. */
  enum Mode {
    /** Standalone: this process. */
    ALWAYS_LEADS,
    /** Kubernetes: the replica that holds the leader Lease. */
    ELECTED
  }

  /**
   * Rotation steps are hours to months apart (a new root signs 24 hours after it joined the bundle
   * by default), so a minute's delay is nothing, and a check per minute costs one Secret read.
   */
  static final Duration INTERVAL = Duration.ofMinutes(1);

  private static final Logger log = LoggerFactory.getLogger(CaRotation.class);

  private final Supplier<Optional<CertificateAuthority>> ca;
  private final MicrometerCaMetrics metrics;
  private final Mode mode;
  private final ScheduledExecutorService executor = DaemonThreads.singleThread("weft-ca-rotation");
  private volatile boolean leading;
  private volatile ScheduledFuture<?> passes;

  /**
   * @param ca the CA once it is loaded; passes before that do nothing
   */
  CaRotation(Supplier<Optional<CertificateAuthority>> ca, MicrometerCaMetrics metrics, Mode mode) {
    this.ca = ca;
    this.metrics = metrics;
    this.mode = mode;
    this.leading = mode == Mode.ALWAYS_LEADS;
  }

  @Override
  public void start() {
    passes =
        executor.scheduleWithFixedDelay(this::pass, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void stop() {
    ScheduledFuture<?> running = passes;
    passes = null;
    if (running != null) {
      running.cancel(false);
    }
  }

  @Override
  public boolean isRunning() {
    return passes != null;
  }

  @Override
  public void startLeading() {
    leading = true;
    try {
      executor.execute(this::pass);
    } catch (RejectedExecutionException closing) {
      // The application is shutting down; there is nothing left to rotate for.
    }
  }

  @Override
  public void stopLeading() {
    leading = mode == Mode.ALWAYS_LEADS;
  }

  /** One check; a failure (the store unreachable) is logged and retried at the next pass. */
  private void pass() {
    CertificateAuthority loaded = ca.get().orElse(null);
    if (loaded == null) {
      return;
    }
    try {
      if (mode == Mode.ELECTED) {
        loaded.reload();
      }
      if (leading) {
        loaded.tick();
      }
    } catch (IOException | RuntimeException e) {
      log.warn("CA rotation check failed, retrying in {}: {}", INTERVAL, e.toString());
    } finally {
      metrics.authorities(loaded.authorities());
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
