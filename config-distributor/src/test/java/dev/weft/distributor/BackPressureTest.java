package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that sends requests faster than its stream handles them (here: thousands, while the
 * stream is stuck handling the first) is held back by HTTP/2 flow control: the server asks for
 * {@link AdsStream#REQUESTS_IN_HAND} requests and no more until one is handled, so the rest stay in
 * the transport's windows and the client's buffer, whose {@code isReady()} turns false. Nothing
 * queues on the server.
 *
 * <p>The stream is stalled deterministically: the ADS service is served here behind an interceptor
 * that blocks the stream's first response on a latch, on the stream's executor, in the middle of
 * handling the first request. The interceptor also counts what the stream asked gRPC for and what
 * gRPC delivered.
 */
class BackPressureTest {

  private static final String EDS = ResourceType.ENDPOINT.typeUrl();
  private static final String CDS = ResourceType.CLUSTER.typeUrl();
  private static final String GREETER = "greeter.demo.svc.cluster.local:50051";

  /** Makes each flooding request about 512 bytes. */
  private static final String PADDING = "x".repeat(480);

  /**
   * About 15 MB: more than the transport's windows hold (1 MiB by default, at most 8 MiB once
   * gRPC's bandwidth probing widens them), so a client whose server stops reading is left holding
   * megabytes itself, far over the 32 KiB past which its {@code isReady()} is false.
   */
  private static final int FLOOD = 30_000;

  private XdsTestbed mesh;
  private Server server;
  private final Stall stall = new Stall();

  @BeforeEach
  void start() throws IOException {
    mesh = new XdsTestbed();
    mesh.greeter(50051, 7001);
    mesh.source().markSynced();
    await().atMost(Duration.ofSeconds(10)).until(mesh.distributor::serving);
    server =
        NettyServerBuilder.forPort(0)
            .directExecutor()
            .addService(ServerInterceptors.intercept(mesh.distributor.service(), stall))
            .build()
            .start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    stall.release.countDown();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    mesh.close();
  }

  @Test
  void stateOfTheWorldClientThatFloodsWaitsOnFlowControlInsteadOfFillingAQueue() throws Exception {
    try (AdsTestClient flooder = new AdsTestClient(server.getPort())) {
      flooder.openSotw();
      flooder.send(sotw(""));
      awaitStalled();

      for (int i = 0; i < FLOOD; i++) {
        flooder.send(sotw("stale-" + PADDING));
      }

      assertHeldBack(flooder);
      assertOtherProxiesAreServed();

      stall.release.countDown();
      assertEverythingIsHandled(flooder);
      assertThat(flooder.nextSotw().getTypeUrl()).isEqualTo(CDS);
    }
  }

  @Test
  void deltaClientThatFloodsWaitsOnFlowControlInsteadOfFillingAQueue() throws Exception {
    try (AdsTestClient flooder = new AdsTestClient(server.getPort())) {
      flooder.openDelta();
      flooder.send(
          DeltaDiscoveryRequest.newBuilder()
              .setNode(AdsTestClient.NODE)
              .setTypeUrl(EDS)
              .addResourceNamesSubscribe(GREETER)
              .build());
      awaitStalled();

      for (int i = 0; i < FLOOD; i++) {
        flooder.send(
            DeltaDiscoveryRequest.newBuilder()
                .setTypeUrl(EDS)
                .setResponseNonce("stale-" + PADDING)
                .build());
      }

      assertHeldBack(flooder);
      assertOtherProxiesAreServed();

      stall.release.countDown();
      assertEverythingIsHandled(flooder);
      assertThat(flooder.nextDelta().getTypeUrl()).isEqualTo(EDS);
    }
  }

  private void awaitStalled() throws InterruptedException {
    assertThat(stall.entered.await(10, TimeUnit.SECONDS))
        .as("the stream is stuck sending its first response")
        .isTrue();
  }

  /**
   * The stream asked for two requests and got them (the first, being handled, and one more); the
   * thousands sent after wait in the transport's windows and the client's buffer, and the client is
   * told to wait.
   */
  private void assertHeldBack(AdsTestClient client) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> stall.received.get() == AdsStream.REQUESTS_IN_HAND);
    assertThat(client.ready()).as("the client may send more without buffering").isFalse();
    assertThat(stall.requested.get())
        .as("requests the stream asked gRPC for while it handles none")
        .isEqualTo(AdsStream.REQUESTS_IN_HAND);
    assertThat(stall.received.get()).isEqualTo(AdsStream.REQUESTS_IN_HAND);
  }

  /** Once unstuck, the stream asks for one more per request handled, until it has them all. */
  private void assertEverythingIsHandled(AdsTestClient client) {
    int total = FLOOD + 1;
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> stall.requested.get() == total + AdsStream.REQUESTS_IN_HAND);
    assertThat(stall.received.get()).isEqualTo(total);
    await().atMost(Duration.ofSeconds(10)).until(client::ready);
  }

  private void assertOtherProxiesAreServed() {
    try (AdsTestClient other = new AdsTestClient(mesh.xdsPort())) {
      other.openSotw();
      other.send(sotw(""));
      assertThat(other.nextSotw().getResourcesCount()).isEqualTo(1);
    }
  }

  private static DiscoveryRequest sotw(String nonce) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(CDS)
        .setResponseNonce(nonce)
        .addResourceNames(GREETER)
        .build();
  }

  /**
   * Blocks the first response on {@link #release} (on the stream's executor, so the stream handles
   * nothing meanwhile), and counts the requests the stream asks for and those gRPC delivers.
   */
  private static final class Stall implements ServerInterceptor {
    final AtomicInteger requested = new AtomicInteger();
    final AtomicInteger received = new AtomicInteger();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean armed = new AtomicBoolean(true);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      ServerCall<Q, R> counted =
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void request(int messages) {
              requested.addAndGet(messages);
              super.request(messages);
            }

            @Override
            public void sendMessage(R message) {
              if (armed.compareAndSet(true, false)) {
                entered.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
              super.sendMessage(message);
            }
          };
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
          next.startCall(counted, headers)) {
        @Override
        public void onMessage(Q message) {
          received.incrementAndGet();
          super.onMessage(message);
        }
      };
    }
  }
}
