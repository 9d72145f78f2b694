package dev.weft.controller;

import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.registry.Failures;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The certificate authority while the application runs: loads its key material (creating the root
 * on first start), then serves the CSR service.
 *
 * <p>Loading reads a Kubernetes Secret (or a directory), off the start-up thread: when the API
 * server cannot be reached, the application still starts (its probes answer), and the CA retries
 * with back-off (1 s doubling to 30 s), says why in the {@code ca} health component and logs each
 * new reason once, while xDS serves without it. A CSR port that cannot be bound is retried the same
 * way, and logged at ERROR.
 *
 * <p>Thread-safety: attempts run on one daemon thread owned here, and hold this object's lock, as
 * {@link #stop()} does; the loaded CA, the server and the reason are published through volatile
 * fields, read without locking by health, debug and the leader tasks.
 */
final class CaLifecycle implements SmartLifecycle {

  /** Loads (or creates) the CA from its store. */
  interface Loader {
    CertificateAuthority load() throws IOException;
  }

  private static final Logger log = LoggerFactory.getLogger(CaLifecycle.class);

  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);

  /** Long enough not to load an API server that is coming back, short enough to serve soon. */
  private static final Duration LONGEST_RETRY = Duration.ofSeconds(30);

  private final Loader loader;
  private final Function<CertificateAuthority, CaServer.Builder> serverFor;
  private final int configuredPort;
  private final String firstCertificates;
  private final Consumer<CertificateAuthority> onLoaded;
  private final ScheduledExecutorService retries = DaemonThreads.singleThread("weft-ca-load");
  private volatile CertificateAuthority authority;
  private volatile CaServer server;
  private volatile String problem = "loading the CA's key material";
  private volatile boolean running;

  /**
   * @param serverFor the CSR server's settings for a loaded CA
   * @param onLoaded told once, when the CA is loaded and before it serves
   */
  CaLifecycle(
      Loader loader,
      Function<CertificateAuthority, CaServer.Builder> serverFor,
      int configuredPort,
      String firstCertificates,
      Consumer<CertificateAuthority> onLoaded) {
    this.loader = loader;
    this.serverFor = serverFor;
    this.configuredPort = configuredPort;
    this.firstCertificates = firstCertificates;
    this.onLoaded = onLoaded;
  }

  @Override
  public void start() {
    running = true;
    retries.execute(() -> attempt(FIRST_RETRY));
  }

  /** The CA, once loaded. */
  Optional<CertificateAuthority> authority() {
    return Optional.ofNullable(authority);
  }

  /** The CSR server, while it serves. */
  Optional<CaServer> server() {
    return Optional.ofNullable(server);
  }

  /** Why the CA does not serve, while it does not. */
  String problem() {
    return problem;
  }

  /** Loads the CA (unless loaded) and starts its server; on failure schedules the next attempt. */
  private synchronized void attempt(Duration backoff) {
    if (!running) {
      return;
    }
    try {
      if (authority == null) {
        CertificateAuthority loaded = loader.load();
        onLoaded.accept(loaded);
        authority = loaded;
      }
    } catch (IOException | RuntimeException e) {
      String reason = "loading the CA's key material failed: " + Failures.describe(e);
      if (!reason.equals(problem)) {
        log.warn("the CA is not serving yet: {}; retrying with back-off", reason);
      }
      retryLater(reason, backoff);
      return;
    }
    try {
      server = serverFor.apply(authority).start();
    } catch (IOException e) {
      String reason =
          "cannot serve the CA on port "
              + configuredPort
              + " (weft.ca.port): "
              + Failures.describe(e);
      if (!reason.equals(problem)) {
        log.error("{}; retrying with back-off", reason);
      }
      retryLater(reason, backoff);
      return;
    }
    problem = "";
    log.info(
        "serving the CA (CSR service, TLS) on port {} as {}; first certificates for {}",
        server.port(),
        server.spiffeId(),
        firstCertificates);
  }

  private void retryLater(String reason, Duration backoff) {
    problem = reason;
    Duration next =
        backoff.multipliedBy(2).compareTo(LONGEST_RETRY) > 0
            ? LONGEST_RETRY
            : backoff.multipliedBy(2);
    try {
      var unused = retries.schedule(() -> attempt(next), backoff.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      // Shutting down.
    }
  }

  @Override
  public int getPhase() {
    return Phases.CA;
  }

  /**
   * Stops taking CSRs; those in flight (milliseconds each) finish first. Synchronized with {@link
   * #attempt}, so that no server starts after this.
   */
  @Override
  public synchronized void stop() {
    running = false;
    retries.shutdownNow();
    CaServer serving = server;
    server = null;
    if (serving != null) {
      try {
        serving.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
