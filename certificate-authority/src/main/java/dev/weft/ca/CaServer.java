package dev.weft.ca;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The CSR service on its own gRPC server over TLS. Its serving certificate is issued by the CA
 * itself for the control plane's SPIFFE ID (plus configured DNS names) and renewed at half-life,
 * checked lazily at each handshake. Clients may present their current SVID (renewal); it is
 * validated against the CA's current bundle, so root rotations need no restart.
 *
 * <p>Hardening: requests without a current SVID are rate-limited per peer address ({@link
 * Builder#unauthenticatedRateLimit}); the server's own identity is never issued to a caller (see
 * {@link CertificateService}).
 *
 * <p>Thread-safety: the serving certificate is one volatile {@link SvidWithKey}, renewed under this
 * object's lock; everything else is immutable after {@link Builder#start}.
 */
public final class CaServer implements AutoCloseable {

  /** The product's port for xDS and the CA over mTLS. */
  public static final int DEFAULT_PORT = 15012;

  /**
   * Requests per second per peer address without a current SVID, by default. A workload asks for
   * its first certificate once, and retries with back-off from 1 s: a handful of requests per pod
   * start. 20 per second serves a whole node of pods sharing one address (host-network pods, or a
   * NAT in front of the CA) starting at once within seconds, while one address can cost the API
   * server at most 20 TokenReviews a second (fewer: the reviews are cached).
   */
  public static final double DEFAULT_UNAUTHENTICATED_PER_SECOND = 20;

  /** Requests in a burst per peer address without a current SVID, by default: 2 s of the rate. */
  public static final int DEFAULT_UNAUTHENTICATED_BURST = 40;

  private final CertificateAuthority ca;
  private final WorkloadIdentity identity;
  private final List<String> dnsNames;
  private final Clock clock;
  private volatile SvidWithKey serving;
  private Server server;

  private CaServer(Builder builder) {
    this.ca = builder.ca;
    this.identity = builder.identity;
    this.dnsNames = List.copyOf(builder.dnsNames);
    this.clock = builder.clock;
    this.serving = ca.issueOwn(identity, dnsNames);
  }

  public static Builder builder(CertificateAuthority ca) {
    return new Builder(ca);
  }

  /** The bound port (the real one when started on port 0). */
  public int port() {
    return server.getPort();
  }

  /** The SPIFFE ID the server presents, which clients should expect. */
  public String spiffeId() {
    return identity.spiffeId(ca.trustDomain());
  }

  /** The serving certificate last issued, without renewing it. For tests. */
  SvidWithKey lastServing() {
    return serving;
  }

  /**
   * The serving certificate now, renewed first when past half-life: the control plane's own SVID,
   * with its SPIFFE ID and DNS names, which its other TLS servers present too.
   */
  public SvidWithKey serving() {
    SvidWithKey current = serving;
    if (clock.instant().isBefore(halfLife(current.svid()))) {
      return current;
    }
    synchronized (this) {
      if (!clock.instant().isBefore(halfLife(serving.svid()))) {
        serving = ca.issueOwn(identity, dnsNames);
      }
      return serving;
    }
  }

  private static Instant halfLife(Svid svid) {
    Instant issued = svid.notBefore().plus(LeafSigner.BACKDATE);
    return issued.plus(Duration.between(issued, svid.notAfter()).dividedBy(2));
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
  }

  /** Settings of a {@link CaServer}. */
  /**
   * Bounds on each connection to the port, which carries proxies' xDS streams beside CSRs.
   *
   * @param maxAge how long a connection lasts before its client is asked to reconnect (gRPC jitters
   *     it ±10 %), so that proxies spread over replicas
   * @param maxAgeGrace how long its calls then get before it is closed
   * @param maxMessageSize the largest message a client may send, in bytes; a larger one ends its
   *     call with RESOURCE_EXHAUSTED
   * @param maxStreamsPerConnection calls one connection may carry at once; a client's further calls
   *     wait (HTTP/2's concurrent stream limit)
   */
  public record ConnectionLimits(
      Duration maxAge, Duration maxAgeGrace, int maxMessageSize, int maxStreamsPerConnection) {

    /**
     * 30 minutes (and 10 s), 4 MiB, and 8 calls: a workload agent carries all of its pod's xDS
     * streams on one connection, two per xDS client.
     */
    public static final ConnectionLimits DEFAULTS =
        new ConnectionLimits(Duration.ofMinutes(30), Duration.ofSeconds(10), 4 << 20, 8);

    public ConnectionLimits {
      if (maxAge.isNegative() || maxAge.isZero()) {
        throw new IllegalArgumentException("a connection's age must be positive: " + maxAge);
      }
      if (maxAgeGrace.isNegative()) {
        throw new IllegalArgumentException(
            "a connection's grace must not be negative: " + maxAgeGrace);
      }
      if (maxMessageSize < 1024) {
        throw new IllegalArgumentException(
            "the message size must be at least 1 KiB: " + maxMessageSize);
      }
      if (maxStreamsPerConnection < 2) {
        throw new IllegalArgumentException(
            "streams per connection must be at least 2 (a proxy needs an ADS and an LRS stream): "
                + maxStreamsPerConnection);
      }
    }
  }

  public static final class Builder {
    private final List<ServerServiceDefinition> services = new ArrayList<>();
    private final List<ServerStreamTracer.Factory> streamTracers = new ArrayList<>();
    private final CertificateAuthority ca;
    private int port = DEFAULT_PORT;
    private Authenticator authenticator;
    private WorkloadIdentity identity = new WorkloadIdentity("weft-system", "weft");
    private List<String> dnsNames = List.of();
    private Clock clock = Clock.systemUTC();
    private CaMetrics metrics = CaMetrics.NONE;
    private double unauthenticatedPerSecond = DEFAULT_UNAUTHENTICATED_PER_SECOND;
    private int unauthenticatedBurst = DEFAULT_UNAUTHENTICATED_BURST;
    private Ticker ticker = Ticker.systemTicker();
    private ConnectionLimits connectionLimits = ConnectionLimits.DEFAULTS;

    private Builder(CertificateAuthority ca) {
      this.ca = Objects.requireNonNull(ca);
    }

    /** 15012 by default; 0 picks a free port. */
    public Builder port(int value) {
      if (value < 0 || value > 65535) {
        throw new IllegalArgumentException("port " + value + " is out of range");
      }
      port = value;
      return this;
    }

    /** Required: how callers prove who they are, e.g. {@link Authenticator#firstOf}. */
    public Builder authenticator(Authenticator value) {
      authenticator = Objects.requireNonNull(value);
      return this;
    }

    /** The control plane's own identity; {@code weft-system/weft} by default. */
    public Builder identity(WorkloadIdentity value) {
      identity = Objects.requireNonNull(value);
      return this;
    }

    /** DNS SANs of the serving certificate, after its SPIFFE ID. */
    public Builder dnsNames(List<String> value) {
      dnsNames = List.copyOf(value);
      return this;
    }

    public Builder clock(Clock value) {
      clock = Objects.requireNonNull(value);
      return this;
    }

    /** Where authentication refusals are reported (issuance is reported by the CA). */
    public Builder metrics(CaMetrics value) {
      metrics = Objects.requireNonNull(value);
      return this;
    }

    /**
     * The rate limit of requests without a current SVID (a first certificate, authenticated with a
     * token), per peer IP address: {@code perSecond} on average, {@code burst} at once; the excess
     * is refused with RESOURCE_EXHAUSTED. Renewals with a current SVID are not limited. {@value
     * #DEFAULT_UNAUTHENTICATED_PER_SECOND} per second, burst {@value
     * #DEFAULT_UNAUTHENTICATED_BURST} by default.
     */
    public Builder unauthenticatedRateLimit(double perSecond, int burst) {
      if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
        throw new IllegalArgumentException(
            "a rate of " + perSecond + " requests per second is not a positive number");
      }
      if (burst < 1) {
        throw new IllegalArgumentException("a burst of " + burst + " requests is less than 1");
      }
      unauthenticatedPerSecond = perSecond;
      unauthenticatedBurst = burst;
      return this;
    }

    /** Bounds on each connection; {@link ConnectionLimits#DEFAULTS} by default. */
    public Builder connectionLimits(ConnectionLimits value) {
      connectionLimits = Objects.requireNonNull(value);
      return this;
    }

    /** What times the rate limit's buckets: for tests, which move it by hand. */
    Builder ticker(Ticker value) {
      ticker = Objects.requireNonNull(value);
      return this;
    }

    /**
     * Another service to serve on this port beside the CSR service, such as xDS over mutual TLS. It
     * sees the caller's certificate, when it presented one, in the call's TLS session: client
     * certificates are optional on this port (a workload's first CSR has none), so a service that
     * needs one checks it. Its handlers run on the transport threads, to save a thread hop per
     * message, so they must never block; the CSR service, which signs and may ask the API server,
     * runs on gRPC's executor.
     */
    public Builder service(ServerServiceDefinition value) {
      services.add(Objects.requireNonNull(value));
      return this;
    }

    /**
     * A tracer of every stream on this port, such as one that counts refused oversized messages.
     */
    public Builder streamTracer(ServerStreamTracer.Factory value) {
      streamTracers.add(Objects.requireNonNull(value));
      return this;
    }

    public CaServer start() throws IOException {
      if (authenticator == null) {
        throw new IllegalStateException("a CaServer needs an authenticator");
      }
      CaServer caServer = new CaServer(this);
      SpiffeTrust clients =
          new SpiffeTrust(
              ca::trustBundle, clock, id -> id.startsWith(ca.trustDomain().uri() + "/"));
      io.grpc.ServerCredentials credentials =
          TlsServerCredentials.newBuilder()
              .keyManager(new SvidKeyManager(caServer::serving))
              .trustManager(clients)
              .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
              .build();
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(new InetSocketAddress(port), credentials)
              .maxConnectionAge(connectionLimits.maxAge().toMillis(), TimeUnit.MILLISECONDS)
              .maxConnectionAgeGrace(
                  connectionLimits.maxAgeGrace().toMillis(), TimeUnit.MILLISECONDS)
              .maxInboundMessageSize(connectionLimits.maxMessageSize())
              .maxConcurrentCallsPerConnection(connectionLimits.maxStreamsPerConnection());
      services.forEach(builder::addService);
      streamTracers.forEach(builder::addStreamTracerFactory);
      Executor direct = Runnable::run;
      Set<String> nonBlocking = new HashSet<>();
      services.forEach(service -> nonBlocking.add(service.getServiceDescriptor().getName()));
      builder.callExecutor(
          new ServerCallExecutorSupplier() {
            @Override
            public <ReqT, RespT> Executor getExecutor(
                ServerCall<ReqT, RespT> call, Metadata headers) {
              // null: gRPC's own executor
              return nonBlocking.contains(call.getMethodDescriptor().getServiceName())
                  ? direct
                  : null;
            }
          });
      caServer.server =
          builder
              .addService(
                  ServerInterceptors.intercept(
                      CertificateServiceGrpc.bindService(
                          new CertificateService(
                              ca,
                              authenticator,
                              metrics,
                              Authenticator.currentSvid(ca, clock),
                              new PeerRateLimiter(
                                  unauthenticatedPerSecond, unauthenticatedBurst, ticker),
                              identity)),
                      new CallerContext()))
              .build()
              .start();
      return caServer;
    }
  }
}
