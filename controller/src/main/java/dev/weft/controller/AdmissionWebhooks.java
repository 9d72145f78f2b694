package dev.weft.controller;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTPS port of Weft's admission webhooks: the API server POSTs AdmissionReviews of Pod
 * creations to {@value #PATH}, which {@link InjectionReviews} answers (sidecar injection), and of
 * routes and policies to {@value ValidationReviews#PATH}, which {@link ValidationReviews} answers.
 * Either may be off; its path then answers 404. The JDK's own HTTPS server, so the control plane
 * runs no second servlet container for two endpoints; its certificate is the control plane's own
 * SVID (the CA port's, {@code CaServer#serving}), which the webhook configuration's {@code
 * caBundle} (Weft's trust bundle) verifies.
 *
 * <p>Bounds, since anyone who reaches the port can call it: {@value #THREADS} threads answer, and
 * at most {@value #QUEUED} connections wait for one (the JDK closes any more at once); a body over
 * {@value #MAX_REQUEST_BYTES} bytes is refused unread; every exchange, from the TLS handshake to
 * the last byte of the answer, has a deadline, after which its thread is interrupted, which closes
 * its connection, so that a client that sends slowly cannot hold a thread.
 *
 * <p>Thread-safety: immutable after {@link Builder#start()}; each exchange is confined to one
 * worker thread, and its deadline is handed over under the deadline's lock.
 */
final class AdmissionWebhooks implements AutoCloseable {

  static final String PATH = "/inject";

  /**
   * etcd stores no object over 1.5 MiB, so no Pod's review comes near 2 MiB; four threads buffer at
   * most 8 MiB.
   */
  static final int MAX_REQUEST_BYTES = 2 << 20;

  /** A review takes about a millisecond; four threads answer hundreds of Pod creations a second. */
  static final int THREADS = 4;

  /** Connections that wait for a thread; beyond this the API server sees a refused call. */
  static final int QUEUED = 64;

  /**
   * The API server waits 10 s by default (the chart's {@code timeoutSeconds}); an exchange longer
   * than that is answered to nobody.
   */
  static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);

  /** How long close() lets exchanges in flight finish. */
  private static final long CLOSE_GRACE_MILLIS = 2_000;

  private static final Logger log = LoggerFactory.getLogger(AdmissionWebhooks.class);

  /** Null when sidecar injection is off. */
  private final InjectionReviews reviews;

  /** Null when the validating webhook is off. */
  private final ValidationReviews validation;

  private final Duration deadline;
  private final ThreadPoolExecutor workers;
  private final ScheduledExecutorService deadlines;
  private HttpsServer server;

  private AdmissionWebhooks(
      InjectionReviews reviews, ValidationReviews validation, Duration deadline) {
    this.reviews = reviews;
    this.validation = validation;
    this.deadline = deadline;
    AtomicInteger threads = new AtomicInteger();
    this.workers =
        new ThreadPoolExecutor(
            THREADS,
            THREADS,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUED),
            runnable -> {
              Thread thread = new Thread(runnable, "weft-injection-" + threads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    this.deadlines = DaemonThreads.singleThread("weft-injection-deadlines");
  }

  /** A webhook port presenting {@code keys}; at least one of its two webhooks must be given. */
  static Builder builder(X509ExtendedKeyManager keys) {
    return new Builder(keys);
  }

  /** The bound port (the real one when started on port 0). */
  int port() {
    return server.getAddress().getPort();
  }

  /** Settings of an {@link AdmissionWebhooks}. */
  static final class Builder {
    private final X509ExtendedKeyManager keys;
    private InjectionReviews reviews;
    private ValidationReviews validation;
    private String address = "";
    private int port = 15017;
    private Duration deadline = DEFAULT_DEADLINE;

    private Builder(X509ExtendedKeyManager keys) {
      this.keys = Objects.requireNonNull(keys);
    }

    /** Serves sidecar injection at {@value #PATH}. */
    Builder injection(InjectionReviews value) {
      reviews = Objects.requireNonNull(value);
      return this;
    }

    /** Serves the validating webhook at {@value ValidationReviews#PATH}. */
    Builder validation(ValidationReviews value) {
      validation = Objects.requireNonNull(value);
      return this;
    }

    /** An IP address to listen on; empty: every address. */
    Builder address(String value) {
      if (!value.isEmpty() && !EnvoyBootstraps.isIpAddress(value)) {
        throw new IllegalArgumentException("\"" + value + "\" is not an IP address");
      }
      address = value;
      return this;
    }

    /** 15017 by default; 0 picks a free port. */
    Builder port(int value) {
      if (value < 0 || value > 65535) {
        throw new IllegalArgumentException("port " + value + " is out of range");
      }
      port = value;
      return this;
    }

    /** How long one exchange may take, handshake included. */
    Builder deadline(Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException("the deadline must be positive: " + value);
      }
      deadline = value;
      return this;
    }

    AdmissionWebhooks start() throws IOException {
      if (reviews == null && validation == null) {
        throw new IllegalStateException("neither webhook is on: nothing to serve");
      }
      SSLContext tls;
      try {
        tls = SSLContext.getInstance("TLS");
        // No client certificates are asked for: the API server's call is authorized by what it
        // sends, and the caller learns nothing it could not compute from its own Pod.
        tls.init(new KeyManager[] {keys}, null, null);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the JDK has no TLS", e);
      }
      AdmissionWebhooks webhook = new AdmissionWebhooks(reviews, validation, deadline);
      InetSocketAddress bind =
          address.isEmpty()
              ? new InetSocketAddress(port)
              : new InetSocketAddress(InetAddress.getByName(address), port);
      HttpsServer server;
      try {
        server = HttpsServer.create(bind, QUEUED);
      } catch (IOException e) {
        webhook.shutDownThreads();
        throw e;
      }
      server.setHttpsConfigurator(
          new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters parameters) {
              SSLParameters ssl = tls.getDefaultSSLParameters();
              ssl.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
              ssl.setNeedClientAuth(false);
              parameters.setSSLParameters(ssl);
            }
          });
      server.createContext("/", webhook::handle);
      server.setExecutor(webhook::execute);
      server.start();
      webhook.server = server;
      return webhook;
    }
  }

  /** Runs an exchange on a worker, under its deadline; the JDK closes a connection refused here. */
  private void execute(Runnable exchange) {
    workers.execute(() -> runWithDeadline(exchange));
  }

  private void runWithDeadline(Runnable exchange) {
    Deadline timer = new Deadline(Thread.currentThread());
    ScheduledFuture<?> expiry = null;
    try {
      expiry = deadlines.schedule(timer::expire, deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closing) {
      // Closing: the exchange runs without a deadline, and close() ends it.
    }
    try {
      exchange.run();
    } finally {
      timer.finish();
      if (expiry != null) {
        expiry.cancel(false);
      }
      // The deadline's interrupt, if it came, belongs to this exchange, not to the next one.
      boolean expired = Thread.interrupted();
      if (expired) {
        log.debug("an injection webhook exchange passed its deadline of {}", deadline);
      }
    }
  }

  /**
   * Interrupts the worker of an exchange that runs too long: an interrupt closes the blocking
   * socket channel the JDK server reads and writes, which ends the exchange. Once finished, it
   * interrupts nothing.
   */
  private static final class Deadline {
    private Thread thread;

    Deadline(Thread thread) {
      this.thread = thread;
    }

    synchronized void expire() {
      if (thread != null) {
        thread.interrupt();
        thread = null;
      }
    }

    synchronized void finish() {
      thread = null;
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      InjectionReviews.Answer answer = answer(exchange);
      exchange.getResponseHeaders().set("Content-Type", answer.contentType());
      if (answer.status() == 413) {
        // The body was not read: the connection cannot carry another request.
        exchange.getResponseHeaders().set("Connection", "close");
      }
      byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(answer.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } finally {
      exchange.close();
    }
  }

  private InjectionReviews.Answer answer(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    boolean served =
        (PATH.equals(path) && reviews != null)
            || (ValidationReviews.PATH.equals(path) && validation != null);
    if (!served) {
      return InjectionReviews.Answer.line(404, "not found: this port answers " + servedPaths());
    }
    if (!"POST".equals(exchange.getRequestMethod())) {
      exchange.getResponseHeaders().set("Allow", "POST");
      return InjectionReviews.Answer.line(
          405, "method not allowed: POST an AdmissionReview to " + path);
    }
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    if (length != null && tooLong(length)) {
      return tooLarge();
    }
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readNBytes(MAX_REQUEST_BYTES + 1);
    }
    if (body.length > MAX_REQUEST_BYTES) {
      return tooLarge();
    }
    try {
      return PATH.equals(path) ? reviews.answer(body) : validation.answer(body);
    } catch (RuntimeException e) {
      log.error("answering an AdmissionReview failed", e);
      return InjectionReviews.Answer.line(
          500, "Weft failed to answer: " + InjectionReviews.firstLine(e.toString()));
    }
  }

  private String servedPaths() {
    List<String> paths = new ArrayList<>();
    if (reviews != null) {
      paths.add("POST " + PATH + " (sidecar injection)");
    }
    if (validation != null) {
      paths.add("POST " + ValidationReviews.PATH + " (validation)");
    }
    return String.join(" and ", paths);
  }

  private static boolean tooLong(String contentLength) {
    try {
      return Long.parseLong(contentLength.trim()) > MAX_REQUEST_BYTES;
    } catch (NumberFormatException e) {
      return false; // the JDK refuses it before this
    }
  }

  private static InjectionReviews.Answer tooLarge() {
    return InjectionReviews.Answer.line(
        413,
        "request body over "
            + MAX_REQUEST_BYTES
            + " bytes: no Pod's AdmissionReview is that large");
  }

  /**
   * Stops taking connections, lets exchanges in flight finish (milliseconds each, at most a few
   * seconds), then closes every connection.
   */
  @Override
  public void close() {
    workers.shutdown();
    try {
      if (!workers.awaitTermination(CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        log.debug("injection webhook exchanges still running at close; ending them");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.stop(0);
    shutDownThreads();
  }

  private void shutDownThreads() {
    workers.shutdownNow();
    deadlines.shutdownNow();
  }
}
