package dev.weft.distributor;

import com.google.common.net.InetAddresses;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A plaintext gRPC server for the distributor's ADS service (port 15010 by default): for
 * development, standalone meshes, and in-cluster proxies until they use mTLS.
 *
 * <p>Keepalive: the server pings an idle connection every 30 s so that a proxy that vanished
 * (without closing its stream) is noticed and forgotten; clients may ping as often as every 10 s.
 *
 * <p>Spreading proxies over replicas: a connection lives at most {@link Builder#maxConnectionAge}
 * (gRPC adds ±10 % of jitter, so connections made together do not all end together); then gRPC asks
 * the client to reconnect (HTTP/2 GOAWAY), gives its streams {@code grace} to finish, and closes
 * it. The client's next connection, through the control plane's Service, may land on any replica,
 * so after a scale-up or a rollout the load evens out within one age.
 *
 * <p>Limits on what a client sends, set explicitly rather than left to gRPC's defaults: a message
 * may be at most {@link Builder#maxMessageSize} (larger ones end their stream with
 * RESOURCE_EXHAUSTED, counted in {@code weft.xds.refused{reason="message_size"}}), and a connection
 * may carry at most {@link Builder#maxStreamsPerConnection} streams at once (HTTP/2's
 * SETTINGS_MAX_CONCURRENT_STREAMS: a client's further streams wait for one to end). With the
 * streams' own flow control and name limits (see {@link AdsStream}), what one connection can make
 * the control plane hold is bounded.
 *
 * <p>Thread-safety: immutable after {@link Builder#start()}; gRPC's server is thread-safe.
 */
public final class XdsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(XdsServer.class);

  /**
   * How long streams other than ADS (load reports) get to end after a drain, before a hard stop.
   */
  private static final Duration AFTER_DRAIN = Duration.ofSeconds(2);

  private final Server server;
  private final ConfigDistributor distributor;

  private XdsServer(Server server, ConfigDistributor distributor) {
    this.server = server;
    this.distributor = distributor;
  }

  public static Builder builder(ConfigDistributor distributor) {
    return new Builder(distributor);
  }

  /** Starts serving {@code distributor} on {@code port} (0 picks a free port), with defaults. */
  public static XdsServer start(ConfigDistributor distributor, int port) {
    return builder(distributor).port(port).start();
  }

  public int port() {
    return server.getPort();
  }

  /**
   * Stops gracefully: takes no new connections or streams (clients are told with GOAWAY, so they
   * connect elsewhere), ends the open ADS streams spread over {@code period} so that their proxies
   * reconnect a few at a time, then stops. Proxies keep serving what they hold meanwhile.
   */
  public void drain(Duration period) {
    server.shutdown();
    int streams = distributor.connectedProxies();
    log.info("draining xDS: ending {} streams over {}", streams, period);
    try {
      distributor
          .endStreams(period)
          .get(period.plus(AFTER_DRAIN).toMillis(), TimeUnit.MILLISECONDS);
      server.awaitTermination(AFTER_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      log.warn("draining xDS did not finish in {}: {}", period.plus(AFTER_DRAIN), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    close();
  }

  /** Stops accepting streams, ends the open ones at once, and waits for them briefly. */
  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Settings of an {@link XdsServer}; each rejects a bad value at once. */
  public static final class Builder {
    private final ConfigDistributor distributor;
    private String address = "";
    private int port = 15010;

    /** Istio's default: long enough that reconnects cost nothing, short enough to rebalance. */
    private Duration maxConnectionAge = Duration.ofMinutes(30);

    /** Enough for a stream to answer what it has in flight; ADS streams are ended at its end. */
    private Duration maxConnectionAgeGrace = Duration.ofSeconds(10);

    /**
     * gRPC's own default, made explicit so that it is documented and does not move with a gRPC
     * upgrade. The largest legitimate messages fit with room: a request at the default name limit
     * (10,000 names, 60 to 260 bytes each with their field) is 0.6 to 2.6 MB, and a load report of
     * 10,000 clusters (150 to 300 bytes each) 1.5 to 3 MB. Each stream holds at most {@link
     * AdsStream#REQUESTS_IN_HAND} messages received but not handled, so 8 MiB at most.
     */
    private int maxMessageSize = 4 * 1024 * 1024;

    /**
     * A proxy needs one ADS stream and one LRS stream on its connection; twice that leaves room
     * (for a stream that is ending while its replacement starts) without letting one connection
     * open hundreds (gRPC's default is unlimited). A client over the limit is not refused: HTTP/2
     * makes its further streams wait until one ends.
     */
    private int maxStreamsPerConnection = 8;

    private final List<ServerServiceDefinition> otherServices = new ArrayList<>();

    private Builder(ConfigDistributor distributor) {
      this.distributor = Objects.requireNonNull(distributor, "distributor");
    }

    /** 15010 by default; 0 picks a free port. */
    /**
     * The IP address to listen on (a literal: never resolved); every address of the machine by
     * default. Standalone, Weft listens on loopback only.
     */
    public Builder address(String value) {
      if (!value.isEmpty() && !InetAddresses.isInetAddress(value)) {
        throw new IllegalArgumentException(
            "\"" + value + "\" is not an IP address to listen on (empty: every address)");
      }
      address = value;
      return this;
    }

    public Builder port(int value) {
      if (value < 0 || value > 65535) {
        throw new IllegalArgumentException("port " + value + " is out of range");
      }
      port = value;
      return this;
    }

    /**
     * How long a connection may last before its client is asked to reconnect (jittered ±10 % by
     * gRPC), and how long its streams then get before it is closed. 30 minutes and 10 seconds by
     * default.
     */
    public Builder maxConnectionAge(Duration age, Duration grace) {
      if (age.isNegative() || age.isZero()) {
        throw new IllegalArgumentException("maxConnectionAge must be positive: " + age);
      }
      if (grace.isNegative()) {
        throw new IllegalArgumentException("maxConnectionAgeGrace must not be negative: " + grace);
      }
      maxConnectionAge = age;
      maxConnectionAgeGrace = grace;
      return this;
    }

    /**
     * The largest message a client may send, in bytes: 4 MiB by default. A larger one ends its
     * stream with RESOURCE_EXHAUSTED. Raise it with the name limits.
     */
    public Builder maxMessageSize(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("maxMessageSize must be at least 1 KiB: " + bytes);
      }
      maxMessageSize = bytes;
      return this;
    }

    /**
     * How many streams one connection may carry at once: 8 by default. At least 2: a proxy needs an
     * ADS stream and an LRS stream.
     */
    public Builder maxStreamsPerConnection(int streams) {
      if (streams < 2) {
        throw new IllegalArgumentException(
            "maxStreamsPerConnection must be at least 2 (a proxy needs an ADS and an LRS stream): "
                + streams);
      }
      maxStreamsPerConnection = streams;
      return this;
    }

    /**
     * Another service to serve on the same port, beside ADS and LRS (such as the telemetry
     * collector's OTLP receiver, which proxies reach where they reach xDS).
     */
    public Builder service(ServerServiceDefinition service) {
      otherServices.add(Objects.requireNonNull(service, "service"));
      return this;
    }

    public XdsServer start() {
      NettyServerBuilder serverBuilder =
          NettyServerBuilder.forAddress(
                  address.isEmpty()
                      ? new InetSocketAddress(port)
                      : new InetSocketAddress(InetAddresses.forString(address), port))
              .addService(distributor.service())
              .addService(distributor.loadReportingService())
              // Handlers only hand requests to each stream's own executor: run them on the
              // transport threads instead of paying a thread hop per message.
              .directExecutor()
              .keepAliveTime(30, TimeUnit.SECONDS)
              .keepAliveTimeout(10, TimeUnit.SECONDS)
              .permitKeepAliveTime(10, TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(true)
              .maxConnectionAge(maxConnectionAge.toMillis(), TimeUnit.MILLISECONDS)
              .maxConnectionAgeGrace(maxConnectionAgeGrace.toMillis(), TimeUnit.MILLISECONDS)
              .maxInboundMessageSize(maxMessageSize)
              .maxConcurrentCallsPerConnection(maxStreamsPerConnection)
              .addStreamTracerFactory(distributor.messageSizeRefusals());
      otherServices.forEach(serverBuilder::addService);
      Server server = serverBuilder.build();
      try {
        server.start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot serve xDS on port " + port, e);
      }
      log.info(
          "serving xDS (ADS, plaintext) on port {}; connections last at most {}, carry at most {}"
              + " streams and messages of at most {} bytes",
          server.getPort(),
          maxConnectionAge,
          maxStreamsPerConnection,
          maxMessageSize);
      return new XdsServer(server, distributor);
    }
  }
}
