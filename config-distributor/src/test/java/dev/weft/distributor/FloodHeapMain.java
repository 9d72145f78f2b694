package dev.weft.distributor;

import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.TestObjects;
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
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Measures what a flooding client makes the control plane hold: one state-of-the-world stream is
 * stuck handling its first request (its first response blocks, as in {@link BackPressureTest})
 * while its client, in another JVM, sends {@code N} requests of about 512 bytes without waiting;
 * then the server's heap in use (after a full GC) is compared with before the flood.
 *
 * <p>{@code auto} emulates gRPC's automatic flow control, which the ADS service used before: the
 * interceptor asks for the next request as soon as one is delivered, as {@code ServerCalls} does,
 * so requests queue on the stream's executor. {@code manual} is the service as it is.
 *
 * <pre>
 * java -cp ... dev.weft.distributor.FloodHeapMain server manual|auto   # prints its port
 * java -cp ... dev.weft.distributor.FloodHeapMain client PORT [requests]
 * </pre>
 *
 * then a line on the server's standard input makes it measure (once the client has sent all).
 *
 * <p>{@code server names} and {@code client-names PORT} measure instead what one stream at the
 * default name limits costs: a delta stream subscribed to 10,000 made-up names of 512 bytes for
 * each of the four types, 40,000 in all, 5,000 a request (10,000 would exceed the 4 MiB message
 * size). {@code client-names PORT LENGTH} makes the names {@code LENGTH} bytes long.
 *
 * <p>Not a test: run by hand.
 */
public final class FloodHeapMain {

  private FloodHeapMain() {}

  public static void main(String[] args) throws Exception {
    if (args[0].equals("client")) {
      flood(Integer.parseInt(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 100_000);
    } else if (args[0].equals("client-names")) {
      subscribeAtTheLimits(
          Integer.parseInt(args[1]),
          args.length > 2 ? Integer.parseInt(args[2]) : StreamLimits.DEFAULT_NAME_LENGTH);
    } else if (args[1].equals("names")) {
      serveNames();
    } else {
      serve(args.length > 1 && args[1].equals("auto"));
    }
  }

  private static void flood(int port, int requests) throws InterruptedException {
    try (AdsTestClient client = new AdsTestClient(port)) {
      client.openSotw();
      client.send(request(""));
      String padding = "x".repeat(480);
      for (int i = 0; i < requests; i++) {
        client.send(request("stale-" + padding));
      }
      System.out.printf("sent %,d requests%n", requests + 1);
      Thread.sleep(Long.MAX_VALUE); // keep the stream open until killed
    }
  }

  private static void subscribeAtTheLimits(int port, int length) throws InterruptedException {
    try (AdsTestClient client = new AdsTestClient(port)) {
      client.openDelta();
      for (int half = 0; half < 8; half++) {
        ResourceType type = ResourceType.values()[half / 2];
        DeltaDiscoveryRequest.Builder request =
            DeltaDiscoveryRequest.newBuilder()
                .setNode(AdsTestClient.NODE)
                .setTypeUrl(type.typeUrl());
        for (int i = half * 5_000; i < (half + 1) * 5_000; i++) {
          String name = type.name() + "-" + i + "-";
          request.addResourceNamesSubscribe(name + "n".repeat(Math.max(0, length - name.length())));
        }
        client.send(request.build());
        String nonce = client.nextDelta().getNonce();
        client.send(
            DeltaDiscoveryRequest.newBuilder()
                .setTypeUrl(type.typeUrl())
                .setResponseNonce(nonce)
                .build());
      }
      System.out.println("sent 4 x 10,000 names");
      Thread.sleep(Long.MAX_VALUE); // keep the stream open until killed
    }
  }

  private static void serveNames() throws Exception {
    try (MeshRegistry registry = MeshRegistry.create();
        ConfigDistributor distributor = ConfigDistributor.builder(registry).build()) {
      RegistrySource source = registry.registerSource("names");
      source.upsert(TestObjects.service("demo", "greeter", "http", 50051));
      source.markSynced();
      while (!distributor.serving()) {
        Thread.sleep(10);
      }
      try (XdsServer server = XdsServer.start(distributor, 0)) {
        long before = usedHeapAfterGc();
        System.out.println("port " + server.port());
        new java.io.BufferedReader(
                new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
            .readLine();
        long after = usedHeapAfterGc();
        int names =
            distributor.proxies().stream()
                .flatMap(p -> p.types().values().stream())
                .mapToInt(t -> t.subscribed().size())
                .sum();
        System.out.printf(
            "one stream subscribed to %,d names: server heap %+,.1f MB%n",
            names, (after - before) / 1e6);
      }
    }
  }

  private static void serve(boolean auto) throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger received = new AtomicInteger();
    try (MeshRegistry registry = MeshRegistry.create();
        ConfigDistributor distributor = ConfigDistributor.builder(registry).build()) {
      RegistrySource source = registry.registerSource("flood");
      source.upsert(TestObjects.service("demo", "greeter", "http", 50051));
      source.markSynced();
      while (!distributor.serving()) {
        Thread.sleep(10);
      }
      Server server =
          NettyServerBuilder.forPort(0)
              .directExecutor()
              .addService(
                  ServerInterceptors.intercept(
                      distributor.service(), stall(auto, entered, release, received)))
              .build()
              .start();
      try {
        long before = usedHeapAfterGc();
        System.out.println("port " + server.getPort());
        entered.await();
        new java.io.BufferedReader(
                new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
            .readLine();
        // Let the transport deliver what it will: until the count stops moving for a second.
        int last = -1;
        while (received.get() != last) {
          last = received.get();
          Thread.sleep(1_000);
        }
        long after = usedHeapAfterGc();
        System.out.printf(
            "%s flow control: %,d requests received by the stuck stream, server heap %+,.1f MB%n",
            auto ? "automatic (before)" : "manual (now)", received.get(), (after - before) / 1e6);
        release.countDown();
      } finally {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static DiscoveryRequest request(String nonce) {
    return DiscoveryRequest.newBuilder()
        .setNode(AdsTestClient.NODE)
        .setTypeUrl(ResourceType.CLUSTER.typeUrl())
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of("greeter.demo.svc.cluster.local:50051"))
        .build();
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static ServerInterceptor stall(
      boolean auto, CountDownLatch entered, CountDownLatch release, AtomicInteger received) {
    AtomicBoolean armed = new AtomicBoolean(true);
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        ServerCall<Q, R> stalling =
            new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
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
            next.startCall(stalling, headers)) {
          @Override
          public void onMessage(Q message) {
            received.incrementAndGet();
            super.onMessage(message);
            if (auto) {
              call.request(1); // what ServerCalls does after each message under automatic
            }
          }
        };
      }
    };
  }
}
