package dev.weft.ca;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.HandlerRegistry;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The workload agent's local xDS proxy: the workload's proxyless gRPC clients and servers connect
 * to it in plaintext on loopback, inside the Pod, and it carries each of their streams, byte for
 * byte, to Weft's mutual TLS port, where the workload's current SVID authenticates them. gRPC-Java
 * cannot present a client certificate to its xDS server (its bootstrap ignores gRFC A65's
 * certificate files), so this is how a proxyless workload reaches a control plane that requires
 * one, as Istio's agent does. Weft holds each stream to the identity of the certificate, whatever
 * the bootstrap's node claims.
 *
 * <p>Any method is forwarded (ADS, delta ADS, LRS), one message at a time each way: the proxy asks
 * for the next message on one side only once it has passed the last one to the other, so it buffers
 * nothing of its own.
 *
 * <p>Thread-safety: each forwarded call's two sides are driven from gRPC's callbacks on two
 * executors; every method call on either side is made under that call's own lock, since neither
 * {@link ServerCall} nor {@link ClientCall} may be called concurrently.
 */
public final class XdsProxy implements AutoCloseable {

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new Bytes();

  private final Server server;
  private final ManagedChannel upstream;

  private XdsProxy(Server server, ManagedChannel upstream) {
    this.server = server;
    this.upstream = upstream;
  }

  /**
   * Serves on {@code 127.0.0.1:port} (0 picks a free port), forwarding to {@code upstream}, which
   * it owns. While {@code certified} is false (the agent has no certificate yet) a stream is
   * refused with UNAVAILABLE, which the client retries, rather than opened: a connection made then
   * would present no certificate for as long as it lasts.
   */
  static XdsProxy start(int port, ManagedChannel upstream, BooleanSupplier certified) {
    Server server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                InsecureServerCredentials.create())
            .fallbackHandlerRegistry(new Forwarding(upstream, certified))
            .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve the xDS proxy on 127.0.0.1:" + port, e);
    }
    return new XdsProxy(server, upstream);
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdownNow();
    upstream.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
      upstream.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Every method name maps to a bidirectional stream forwarded to the same method upstream. */
  private static final class Forwarding extends HandlerRegistry {
    private final Channel upstream;
    private final BooleanSupplier certified;

    Forwarding(Channel upstream, BooleanSupplier certified) {
      this.upstream = upstream;
      this.certified = certified;
    }

    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
      MethodDescriptor<byte[], byte[]> method =
          MethodDescriptor.<byte[], byte[]>newBuilder()
              .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(methodName)
              .setRequestMarshaller(BYTES)
              .setResponseMarshaller(BYTES)
              .build();
      return ServerMethodDefinition.create(method, new Forward(upstream, certified));
    }
  }

  private static final class Forward implements ServerCallHandler<byte[], byte[]> {
    private final Channel upstream;
    private final BooleanSupplier certified;

    Forward(Channel upstream, BooleanSupplier certified) {
      this.upstream = upstream;
      this.certified = certified;
    }

    @Override
    public ServerCall.Listener<byte[]> startCall(
        ServerCall<byte[], byte[]> local, Metadata headers) {
      if (!certified.getAsBoolean()) {
        local.close(
            Status.UNAVAILABLE.withDescription(
                "the workload agent has no certificate yet; retry in a moment"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      Object lock = new Object();
      ClientCall<byte[], byte[]> remote =
          upstream.newCall(local.getMethodDescriptor(), CallOptions.DEFAULT);
      synchronized (lock) {
        remote.start(
            new ClientCall.Listener<>() {
              @Override
              public void onHeaders(Metadata responseHeaders) {
                synchronized (lock) {
                  local.sendHeaders(responseHeaders);
                }
              }

              @Override
              public void onMessage(byte[] message) {
                synchronized (lock) {
                  local.sendMessage(message);
                  remote.request(1);
                }
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                synchronized (lock) {
                  local.close(status, trailers);
                }
              }
            },
            headers);
        remote.request(1);
        local.request(1);
      }
      return new ServerCall.Listener<>() {
        @Override
        public void onMessage(byte[] message) {
          synchronized (lock) {
            remote.sendMessage(message);
            local.request(1);
          }
        }

        @Override
        public void onHalfClose() {
          synchronized (lock) {
            remote.halfClose();
          }
        }

        @Override
        public void onCancel() {
          synchronized (lock) {
            remote.cancel("the workload ended its stream", null);
          }
        }
      };
    }
  }

  /** Messages as they come: the proxy never decodes them. */
  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
