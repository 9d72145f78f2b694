package dev.weft.controller;

import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
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
 * <p>Loading reads a Kubernetes Secret (or a directory). When that fails at start, as when the API
 * server is unreachable, the replica does not fail: it retries with back-off (1 s doubling to 30
 * s), says why in the {@code ca} health component and logs each new reason once, while xDS serves
 * without it. A CSR port that cannot be bound on the first attempt is a configuration error and
 * fails the start.
 *
 * <p>Thread-safety: retries run on one daemon thread owned here; the loaded CA, the server and the
 * reason are published through volatile fields, read by health, debug and the leader tasks.
 */
final class CaLifecycle implements SmartLifecycle {

  /** Loads (or creates) the CA from its store. */
  interface Loader {
    CertificateAuthority load() throws IOException;
  }

  /** The first attempt, at start, fails the start on a configuration error; retries do not. */
  private enum Attempt {
    FIRST,
    RETRY
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
  private final ScheduledExecutorService retries =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "weft-ca-load");
            thread.setDaemon(true);
            return thread;
          });
  private volatile CertificateAuthority authority;
  private volatile CaServer server;
  private volatile String problem = "not started";
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
    if (!attempt(FIRST_RETRY, Attempt.FIRST)) {
      log.warn("the CA is not serving yet: {}; retrying in {}", problem, FIRST_RETRY);
    }
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

  /**
   * Loads the CA (unless loaded) and starts its server; on failure schedules the next attempt.
   * Returns whether the CA serves.
   */
  private boolean attempt(Duration backoff, Attempt attempt) {
    if (!running) {
      return false;
    }
    try {
      if (authority == null) {
        CertificateAuthority loaded = loader.load();
        onLoaded.accept(loaded);
        authority = loaded;
      }
    } catch (IOException | RuntimeException e) {
      retryLater("loading the CA's key material failed: " + describe(e), backoff, attempt);
      return false;
    }
    try {
      server = serverFor.apply(authority).start();
    } catch (IOException e) {
      String reason = "cannot serve the CA on port " + configuredPort + " (weft.ca.port)";
      if (attempt == Attempt.FIRST) {
        throw new UncheckedIOException(reason, e);
      }
      retryLater(reason + ": " + describe(e), backoff, attempt);
      return false;
    }
    problem = "";
    log.info(
        "serving the CA (CSR service, TLS) on port {} as {}; first certificates for {}",
        server.port(),
        server.spiffeId(),
        firstCertificates);
    return true;
  }

  private void retryLater(String reason, Duration backoff, Attempt attempt) {
    if (attempt == Attempt.RETRY && !reason.equals(problem)) {
      log.warn("the CA is not serving yet: {}; retrying with back-off", reason);
    }
    problem = reason;
    Duration next =
        backoff.multipliedBy(2).compareTo(LONGEST_RETRY) > 0
            ? LONGEST_RETRY
            : backoff.multipliedBy(2);
    try {
      var unused =
          retries.schedule(
              () -> attempt(next, Attempt.RETRY), backoff.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      // Shutting down.
    }
  }

  private static String describe(Throwable failure) {
    String message = failure.toString();
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause.getMessage() != null && !cause.getMessage().isBlank()) {
        message = cause.getMessage();
      }
    }
    return message;
  }

  @Override
  public int getPhase() {
    return Phases.SERVERS;
  }

  /** Stops taking CSRs; those in flight (milliseconds each) finish first. */
  @Override
  public void stop() {
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
