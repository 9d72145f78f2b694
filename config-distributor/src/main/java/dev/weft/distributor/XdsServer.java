package dev.weft.distributor;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A plaintext gRPC server for the distributor's ADS service (port 15010 by default): for
 * development and standalone meshes.
 *
 * <p>Keepalive: the server pings an idle connection every 30 s so that a proxy that vanished
 * (without closing its stream) is noticed and forgotten; clients may ping as often as every 10 s.
 */
public final class XdsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(XdsServer.class);

  private final Server server;

  private XdsServer(Server server) {
    this.server = server;
  }

  /** Starts serving {@code distributor} on {@code port} (0 picks a free port). */
  public static XdsServer start(ConfigDistributor distributor, int port) {
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(port))
            .addService(distributor.service())
            .addService(distributor.loadReportingService())
            // Handlers only hand requests to each stream's own executor: run them on the
            // transport threads instead of paying a thread hop per message.
            .directExecutor()
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve xDS on port " + port, e);
    }
    log.info("serving xDS (ADS, plaintext) on port {}", server.getPort());
    return new XdsServer(server);
  }

  public int port() {
    return server.getPort();
  }

  /** Stops accepting streams, ends the open ones, and waits for them briefly. */
  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
