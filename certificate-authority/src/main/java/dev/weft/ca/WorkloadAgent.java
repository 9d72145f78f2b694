package dev.weft.ca;

import com.google.protobuf.ByteString;
import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workload side: generates a key locally (it never leaves the workload), sends a CSR with its
 * credential, writes the certificate chain, key and trust bundle for gRPC's {@code file_watcher}
 * provider ({@link CredentialFiles}), and renews at half-life with jitter, backing off
 * exponentially on failure. A failed renewal leaves the current files alone.
 *
 * <p>Credentials: the token file's content (re-read on every attempt, as projected tokens rotate)
 * as a bearer token, and the current SVID as the TLS client certificate, so a workload whose token
 * is gone still renews while its certificate is valid.
 *
 * <p>Thread-safety: attempts are serialized by this object's lock; the current SVID is a volatile
 * snapshot the TLS key manager reads. Publishing a new SVID and adding a watcher are serialized by
 * a second lock, {@code published}, held only for that (never during a CSR), so a watcher sees
 * every SVID once, in order, and none older than the one it was first given.
 */
public final class WorkloadAgent implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WorkloadAgent.class);

  /** A CSR round trip takes milliseconds; ten seconds covers a CA under load or failing over. */
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

  private final Builder settings;
  private final ManagedChannel channel;
  private final Object published = new Object();
  private final List<Consumer<SvidWithKey>> watchers = new CopyOnWriteArrayList<>();
  private volatile SvidWithKey current;
  private ScheduledFuture<?> next;
  private int failures;
  private boolean closed;

  private WorkloadAgent(Builder settings) {
    this.settings = settings;
    this.current = CredentialFiles.read(settings.outputDirectory).orElse(null);
    this.channel = newChannel();
  }

  /**
   * A channel to the CA's address that presents the current certificate, if any, at each handshake,
   * and trusts only the CA's SPIFFE ID under the current bundle.
   */
  private ManagedChannel newChannel() {
    return Grpc.newChannelBuilder(
            settings.target,
            TlsChannelCredentials.newBuilder()
                .keyManager(new SvidKeyManager(this::validCurrent))
                .trustManager(
                    new SpiffeTrust(
                        this::trustBundle, settings.clock, settings.serverSpiffeId::equals))
                .build())
        .build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The SVID last written, if any. */
  public Optional<Svid> current() {
    SvidWithKey svid = current;
    return svid == null ? Optional.empty() : Optional.of(svid.svid());
  }

  /**
   * One attempt: a new key, a CSR, the files written. On success the renewal timer (if started) is
   * moved to the new certificate's half-life.
   *
   * @throws StatusRuntimeException with the CA's refusal, or when it cannot be reached
   * @throws IOException when the token or the output cannot be read or written
   */
  public synchronized Svid renewNow() throws IOException {
    KeyPair keys = Crypto.newP256KeyPair();
    CertificateRequest.Builder request =
        CertificateRequest.newBuilder().setCsrDer(ByteString.copyFrom(Csrs.forKey(keys)));
    if (settings.validity != null) {
      request.setValidity(
          com.google.protobuf.Duration.newBuilder().setSeconds(settings.validity.toSeconds()));
    }
    Channel withToken = channel;
    Optional<String> token = token();
    if (token.isPresent()) {
      Metadata headers = new Metadata();
      headers.put(CallerContext.AUTHORIZATION, "Bearer " + token.get());
      withToken =
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    CertificateResponse response =
        ClientCalls.blockingUnaryCall(
            withToken,
            CertificateServiceGrpc.getCreateCertificateMethod(),
            CallOptions.DEFAULT.withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS),
            request.build());
    List<X509Certificate> chain = new ArrayList<>();
    response.getCertChainPemList().forEach(pem -> chain.addAll(Pem.parseCertificates(pem)));
    List<X509Certificate> bundle = new ArrayList<>();
    response.getTrustBundlePemList().forEach(pem -> bundle.addAll(Pem.parseCertificates(pem)));
    String id = SvidAuthenticator.spiffeId(chain.get(0)).orElse("");
    SvidWithKey issued = new SvidWithKey(new Svid(id, chain, bundle), keys.getPrivate());
    CredentialFiles.write(settings.outputDirectory, issued, settings.clock.instant());
    publish(issued);
    return issued.svid();
  }

  private void publish(SvidWithKey issued) {
    synchronized (published) {
      current = issued;
      for (Consumer<SvidWithKey> watcher : watchers) {
        try {
          watcher.accept(issued);
        } catch (RuntimeException e) {
          // A consumer's failure is its own: the files are written and the renewal succeeded.
          log.warn("a consumer of the renewed certificate failed", e);
        }
      }
    }
  }

  /**
   * Gives {@code watcher} the current SVID at once, if it is still valid, then every SVID this
   * agent obtains, until the returned action is run. The watcher runs on the renewing thread with a
   * lock held: it must not block.
   */
  Runnable watch(Consumer<SvidWithKey> watcher) {
    synchronized (published) {
      watchers.add(watcher);
      SvidWithKey svid = validCurrent();
      if (svid != null) {
        watcher.accept(svid);
      }
    }
    return () -> watchers.remove(watcher);
  }

  /**
   * Starts the local xDS proxy on {@code 127.0.0.1:port} (0 picks a free port): the workload's
   * proxyless gRPC clients and servers bootstrap to it in plaintext, and it carries their streams
   * to the CA's address, Weft's mutual TLS port, over this agent's connection and certificate. The
   * caller closes it.
   */
  public XdsProxy startXdsProxy(int port) {
    // A channel of its own: the CSR channel's connection may have been made before this agent had
    // a certificate, and a connection keeps the certificate of its handshake.
    return XdsProxy.start(port, newChannel(), () -> validCurrent() != null);
  }

  /**
   * Serves Envoy's Secret Discovery Service on a Unix domain socket at {@code socket} (convention:
   * {@code /var/run/weft/sds/socket}, in a volume shared with the Envoy container): {@code default}
   * is this agent's certificate chain and private key, {@code ROOTCA} the trust bundle. Every open
   * stream is sent the new {@code default} when the agent renews, and {@code ROOTCA} when the
   * bundle changed. Requests wait until the agent holds its first certificate. A stale socket left
   * by an earlier run is replaced; the socket is readable and writable by owner and group only. The
   * caller closes it, which removes the socket.
   *
   * @throws IllegalStateException when Netty's epoll transport (Linux) is not available
   * @throws java.io.UncheckedIOException when the socket cannot be created
   */
  public SdsHandle startSdsServer(Path socket) {
    return SdsServer.start(socket, SdsServer.Limits.DEFAULT, this::watch);
  }

  /** A running SDS server ({@link #startSdsServer}); closing it stops it and removes its socket. */
  public interface SdsHandle extends AutoCloseable {
    /** The Unix domain socket it serves on. */
    Path socket();

    @Override
    void close();
  }

  /** Renews now if there is no valid certificate, else at its half-life; then keeps renewing. */
  public synchronized void start() {
    SvidWithKey svid = validCurrent();
    schedule(
        svid == null
            ? Duration.ZERO
            : RenewalPolicy.untilRenewal(
                svid.svid(), settings.clock.instant(), settings.random.nextDouble()));
  }

  private synchronized void attempt() {
    if (closed) {
      return;
    }
    try {
      Svid svid = renewNow();
      failures = 0;
      schedule(
          RenewalPolicy.untilRenewal(svid, settings.clock.instant(), settings.random.nextDouble()));
    } catch (IOException | RuntimeException e) {
      failures++;
      Duration delay = RenewalPolicy.backoff(failures, settings.random.nextDouble());
      log.warn("certificate renewal failed ({}), retrying in {}", e.getMessage(), delay);
      schedule(delay);
    }
  }

  private void schedule(Duration delay) {
    if (closed) {
      return;
    }
    next = settings.scheduler.schedule(this::attempt, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (next != null) {
      next.cancel(false);
    }
    channel.shutdownNow();
  }

  private SvidWithKey validCurrent() {
    SvidWithKey svid = current;
    Instant now = settings.clock.instant();
    return svid != null && now.isBefore(svid.svid().notAfter()) ? svid : null;
  }

  private Optional<String> token() throws IOException {
    if (settings.tokenFile == null || !Files.exists(settings.tokenFile)) {
      return Optional.empty();
    }
    String token = Files.readString(settings.tokenFile).strip();
    return token.isEmpty() ? Optional.empty() : Optional.of(token);
  }

  /** The bootstrap bundle plus the bundle of the last issued SVID: both roots during rotation. */
  private List<X509Certificate> trustBundle() {
    LinkedHashSet<X509Certificate> roots = new LinkedHashSet<>(settings.bootstrapBundle);
    SvidWithKey svid = current;
    if (svid != null) {
      roots.addAll(svid.svid().trustBundle());
    }
    return List.copyOf(roots);
  }

  /** Settings of an agent; {@link #build} checks the required ones. */
  public static final class Builder {
    private String target;
    private String serverSpiffeId;
    private List<X509Certificate> bootstrapBundle = List.of();
    private Path tokenFile;
    private Path outputDirectory;
    private Duration validity;
    private Clock clock = Clock.systemUTC();
    private ScheduledExecutorService scheduler;
    private Random random = new Random();

    private Builder() {}

    /** The CA's address, e.g. {@code weft.weft-system.svc:15012}. */
    public Builder target(String value) {
      target = Objects.requireNonNull(value);
      return this;
    }

    /** The SPIFFE ID the CA server must present (see {@link CaServer#spiffeId}). */
    public Builder serverSpiffeId(String value) {
      serverSpiffeId = Objects.requireNonNull(value);
      return this;
    }

    /** Roots to trust the CA server with before the first certificate brings the bundle. */
    public Builder bootstrapTrustBundle(Path pemFile) throws IOException {
      bootstrapBundle = Pem.parseCertificates(Files.readString(pemFile));
      return this;
    }

    public Builder bootstrapTrustBundle(List<X509Certificate> roots) {
      bootstrapBundle = List.copyOf(roots);
      return this;
    }

    /** A file holding the ServiceAccount or bootstrap token; optional with a valid SVID. */
    public Builder tokenFile(Path value) {
      tokenFile = value;
      return this;
    }

    /** Where {@link CredentialFiles} are written. */
    public Builder outputDirectory(Path value) {
      outputDirectory = Objects.requireNonNull(value);
      return this;
    }

    /** The lifetime to ask for; the CA's default when unset. */
    public Builder validity(Duration value) {
      validity = value;
      return this;
    }

    public Builder clock(Clock value) {
      clock = Objects.requireNonNull(value);
      return this;
    }

    /** Runs the renewals; a single thread is enough. Owned by the caller. */
    public Builder scheduler(ScheduledExecutorService value) {
      scheduler = Objects.requireNonNull(value);
      return this;
    }

    /** The source of jitter. */
    public Builder random(Random value) {
      random = Objects.requireNonNull(value);
      return this;
    }

    public WorkloadAgent build() {
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(serverSpiffeId, "serverSpiffeId");
      Objects.requireNonNull(outputDirectory, "outputDirectory");
      Objects.requireNonNull(scheduler, "scheduler");
      return new WorkloadAgent(this);
    }
  }
}
