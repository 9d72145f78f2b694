package dev.weft.benchmarks;

import com.google.protobuf.Empty;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback gRPC backend of the endpoint-changes benchmark: one unary method that answers at once
 * and notes when each call arrived ({@link System#nanoTime()}, the clock the harness times edits
 * with). A call arrives when the client has picked this backend for it, so the last arrival after a
 * change is the last call the client started here; a call already in flight when the change reached
 * the client arrived before it.
 *
 * <p>Thread-safe: calls arrive on the server's threads, the harness reads from its own.
 */
final class ProbeBackend implements AutoCloseable {

  static final MethodDescriptor<Empty, Empty> CALL =
      MethodDescriptor.<Empty, Empty>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName("weft.bench.Probe", "Call"))
          .setRequestMarshaller(ProtoUtils.marshaller(Empty.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(Empty.getDefaultInstance()))
          .build();

  private final String address;
  private final int port;
  private final Server server;
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong lastArrival = new AtomicLong();
  private final AtomicLong firstArrival = new AtomicLong();

  /** Starts a backend on {@code ip:port} (a loopback address). */
  ProbeBackend(String ip, int port) throws IOException {
    this.address = ip;
    this.port = port;
    ServerServiceDefinition service =
        ServerServiceDefinition.builder("weft.bench.Probe")
            .addMethod(
                CALL,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      long now = System.nanoTime();
                      lastArrival.set(now);
                      firstArrival.compareAndSet(0, now);
                      calls.incrementAndGet();
                      response.onNext(Empty.getDefaultInstance());
                      response.onCompleted();
                    }))
            .build();
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress(ip, port))
            .addService(service)
            .build()
            .start();
  }

  /** Its IP address; every backend of the benchmark listens on the same port. */
  String ip() {
    return address;
  }

  int port() {
    return port;
  }

  long calls() {
    return calls.get();
  }

  /** When the latest call arrived, or 0 if none ever did. */
  long lastArrival() {
    return lastArrival.get();
  }

  /** When the first call since {@link #forgetFirstArrival} arrived, or 0 if none did yet. */
  long firstArrival() {
    return firstArrival.get();
  }

  void forgetFirstArrival() {
    firstArrival.set(0);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
