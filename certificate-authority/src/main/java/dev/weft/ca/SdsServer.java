package dev.weft.ca;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's SDS server on a Unix domain socket ({@link WorkloadAgent#startSdsServer}): gRPC over
 * Netty's epoll domain-socket transport, serving {@link SdsService}, fed by the agent's renewals.
 *
 * <p>A socket in a volume the two containers share, as Istio's and SPIRE's agents do: nothing
 * listens on the network, and who may connect is decided by file permissions (below).
 *
 * <p>Thread-safety: immutable once started; {@link #close} runs once.
 */
final class SdsServer implements WorkloadAgent.SdsHandle {

  private static final Logger log = LoggerFactory.getLogger(SdsServer.class);

  /**
   * rw-rw----: Envoy runs as another UID in the same Pod and shares the volume's group (Kubernetes'
   * {@code fsGroup}, which new files in the volume inherit); connecting to a Unix socket takes
   * write permission on it, so owner and group may, and no one else.
   */
  private static final Set<PosixFilePermission> OWNER_AND_GROUP =
      PosixFilePermissions.fromString("rw-rw----");

  /** A directory the agent creates itself: the group may reach the socket through it. */
  private static final Set<PosixFilePermission> DIRECTORY =
      PosixFilePermissions.fromString("rwxr-x---");

  /** File type bits of {@code st_mode}, and the value for a socket. */
  private static final int S_IFMT = 0170000;

  private static final int S_IFSOCK = 0140000;

  /**
   * Bounds of the server.
   *
   * @param maxMessageBytes the largest request taken: SDS requests name a secret or two, but
   *     Envoy's first request on a stream carries its {@code Node}, which lists every extension
   *     compiled into it (some 400, about 60 KiB); 256 KiB leaves room for a larger build and
   *     refuses anything that is not a discovery request
   * @param maxStreamsPerConnection HTTP/2 streams one connection may open at once (further ones
   *     wait): Envoy opens one per SDS config source and protocol variant, a few at most
   * @param maxCalls streams and waiting fetches over all connections; further ones are refused
   *     (RESOURCE_EXHAUSTED). Room for an Envoy and its hot-restarted successor, and a few tools
   */
  record Limits(int maxMessageBytes, int maxStreamsPerConnection, int maxCalls) {
    static final Limits DEFAULT = new Limits(256 * 1024, 16, 64);

    Limits {
      if (maxMessageBytes < 1024 || maxStreamsPerConnection < 1 || maxCalls < 1) {
        throw new IllegalArgumentException("SDS limits too small: " + this);
      }
    }
  }

  private final Path socket;
  private final Server server;
  private final EventLoopGroup group;
  private final Runnable unwatch;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SdsServer(Path socket, Server server, EventLoopGroup group, Runnable unwatch) {
    this.socket = socket;
    this.server = server;
    this.group = group;
    this.unwatch = unwatch;
  }

  /**
   * Serves on {@code socket}, replacing a stale socket file there, creating its directory if
   * missing, and subscribes to the agent's SVIDs through {@code watch} (which returns how to stop).
   *
   * @throws IllegalStateException when epoll is not available, or {@code socket} is another kind of
   *     file
   * @throws UncheckedIOException when the socket cannot be created
   */
  static SdsServer start(
      Path socket, Limits limits, Function<Consumer<SvidWithKey>, Runnable> watch) {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "SDS needs Netty's epoll transport (Linux) for its Unix domain socket: "
              + Epoll.unavailabilityCause());
    }
    Path path = socket.toAbsolutePath();
    prepare(path);
    // One thread: SDS carries a few messages an hour, and the handlers never block.
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("weft-sds", true), EpollIoHandler.newFactory());
    SdsService service = new SdsService(limits.maxCalls());
    Server server =
        NettyServerBuilder.forAddress(
                new DomainSocketAddress(path.toString()), InsecureServerCredentials.create())
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(group)
            .workerEventLoopGroup(group)
            // Handlers take a stream's lock and queue a message; no thread pool is needed.
            .directExecutor()
            .maxInboundMessageSize(limits.maxMessageBytes())
            .maxConcurrentCallsPerConnection(limits.maxStreamsPerConnection())
            // gRPC asks every accepted connection for TCP keepalive, which a Unix socket has not:
            // unset, or Netty logs a WARN per connection.
            .withChildOption(ChannelOption.SO_KEEPALIVE, null)
            .addService(service)
            .build();
    try {
      server.start();
      // Bound with the umask's mode; the usual 022 leaves only the owner able to connect until now.
      Files.setPosixFilePermissions(path, OWNER_AND_GROUP);
    } catch (IOException e) {
      server.shutdownNow();
      var unused = group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw new UncheckedIOException("cannot serve SDS on unix:" + path + ": " + e.getMessage(), e);
    }
    log.info("SDS on unix:{}", path);
    return new SdsServer(path, server, group, watch.apply(service));
  }

  /** Creates the directory if missing; removes a socket left there, and nothing else. */
  private static void prepare(Path socket) {
    try {
      Path parent = socket.getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(DIRECTORY));
      }
      if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      if (!isSocket(socket)) {
        throw new IllegalStateException(
            socket + " exists and is not a socket: not removed, SDS not started");
      }
      // Left by an agent that did not close (killed, or the container restarted in the Pod).
      Files.delete(socket);
      log.info("removed the stale socket {}", socket);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot prepare the SDS socket " + socket + ": " + e.getMessage(), e);
    }
  }

  static boolean isSocket(Path path) throws IOException {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & S_IFMT) == S_IFSOCK;
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      // No "unix" attribute view: a file that is no regular file, directory or link.
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
          .isOther();
    }
  }

  @Override
  public Path socket() {
    return socket;
  }

  /** Stops taking SVIDs, ends every stream, stops the transport and removes the socket. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    unwatch.run();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      // Netty removes it as it closes the channel; this covers a channel that never bound.
      if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS) && isSocket(socket)) {
        Files.delete(socket);
      }
    } catch (IOException e) {
      log.warn("cannot remove the SDS socket {}: {}", socket, e.getMessage());
    }
  }
}
