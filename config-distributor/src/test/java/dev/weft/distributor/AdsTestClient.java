package dev.weft.distributor;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.CallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A proxy speaking raw ADS, for the protocol details grpc-xds does not exercise (delta, NACKs): it
 * sends exactly the requests a test writes and hands back the responses in order.
 */
final class AdsTestClient implements AutoCloseable {

  static final Node NODE = Node.newBuilder().setId("raw-proxy.demo").build();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ManagedChannel channel;
  private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
  private StreamObserver<DiscoveryRequest> sotw;
  private StreamObserver<DeltaDiscoveryRequest> delta;

  AdsTestClient(int port) {
    this(
        Grpc.newChannelBuilderForAddress("localhost", port, InsecureChannelCredentials.create())
            .build());
  }

  /** A client on {@code channel} (an in-process one, for tests without sockets); closes it. */
  AdsTestClient(ManagedChannel channel) {
    this.channel = channel;
  }

  /**
   * The ACK of {@code response}: its version and nonce (names, as Envoy repeats them, are added).
   */
  static DiscoveryRequest ack(DiscoveryResponse response) {
    return DiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setVersionInfo(response.getVersionInfo())
        .setResponseNonce(response.getNonce())
        .build();
  }

  /** The ACK of a delta {@code response}: its nonce. */
  static DeltaDiscoveryRequest ack(DeltaDiscoveryResponse response) {
    return DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce())
        .build();
  }

  void openSotw() {
    sotw = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(collector());
  }

  void openDelta() {
    delta = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(collector());
  }

  void send(DiscoveryRequest request) {
    sotw.onNext(request);
  }

  void send(DeltaDiscoveryRequest request) {
    delta.onNext(request);
  }

  /** The next response; fails if none comes within ten seconds. */
  DiscoveryResponse nextSotw() {
    return (DiscoveryResponse) next();
  }

  DeltaDiscoveryResponse nextDelta() {
    return (DeltaDiscoveryResponse) next();
  }

  private Object next() {
    try {
      Object message = received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (message == null) {
        throw new AssertionError("no response within " + WAIT);
      }
      if (message instanceof Throwable error) {
        throw new AssertionError("stream failed", error);
      }
      return message;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits until the stream ends from the server's side (skipping responses); its status. */
  io.grpc.Status awaitEnd() {
    try {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (System.nanoTime() < deadline) {
        Object message = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (message instanceof Throwable error) {
          return io.grpc.Status.fromThrowable(error);
        }
      }
      throw new AssertionError("the stream did not end within " + WAIT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * Whether the open stream takes another request without buffering it: false once the server stops
   * reading and the transport's windows and the client's buffer are full.
   */
  boolean ready() {
    return ((CallStreamObserver<?>) (sotw != null ? sotw : delta)).isReady();
  }

  /** Whether a response is waiting, without waiting for one. */
  boolean hasPending() {
    return !received.isEmpty();
  }

  /** Ends the stream from the client side, as a proxy that goes away. */
  void closeStream() {
    if (sotw != null) {
      sotw.onCompleted();
      sotw = null;
    }
    if (delta != null) {
      delta.onCompleted();
      delta = null;
    }
  }

  private <T> StreamObserver<T> collector() {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        received.add(value);
      }

      @Override
      public void onError(Throwable error) {
        received.add(error);
      }

      @Override
      public void onCompleted() {}
    };
  }

  @Override
  public void close() {
    closeStream();
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
