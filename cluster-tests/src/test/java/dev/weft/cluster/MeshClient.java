package dev.weft.cluster;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A proxyless gRPC workload (grpc-xds, a client we did not write) that calls the greeter without
 * pause, as a service under continuous traffic does, and counts what happened: which backend
 * answered, and every call that failed.
 *
 * <p>Each client gets its own xDS client and ADS stream (grpc-xds shares one per bootstrap and
 * target; a resolver of its own scheme with the bootstrap override gives each its own), with the
 * bootstrap the control plane's {@code /bootstrap} endpoint produced for it.
 *
 * <p>Thread-safety: the calling thread writes the counters (atomics) and the failure list
 * (copy-on-write); any thread reads them.
 */
final class MeshClient implements AutoCloseable {

  /** A call starts this long after the previous one ended: a steady, modest load per client. */
  private static final long PAUSE_MILLIS = 20;

  final String nodeId;
  private final XdsNameResolverProvider resolver;
  private final ManagedChannel channel;
  private final ScheduledExecutorService caller;
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong lastV1AnswerNanos = new AtomicLong();
  private final AtomicLong lastV2AnswerNanos = new AtomicLong();
  private final List<String> failures = new CopyOnWriteArrayList<>();
  private volatile boolean running = true;

  @SuppressWarnings("unchecked")
  MeshClient(String scheme, String nodeId, String bootstrapJson, String target) {
    this.nodeId = nodeId;
    try {
      resolver =
          XdsNameResolverProvider.createForTest(
              scheme, (Map<String, ?>) JsonParser.parse(bootstrapJson));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    channel =
        Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
            .build();
    caller =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "mesh-client-" + nodeId);
              thread.setDaemon(true);
              return thread;
            });
    var unused =
        caller.scheduleWithFixedDelay(this::callOnce, 0, PAUSE_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void callOnce() {
    try {
      StringValue reply =
          ClientCalls.blockingUnaryCall(
              channel,
              Greeter.SAY_HELLO,
              CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
              StringValue.of(nodeId));
      long answered = System.nanoTime();
      switch (Greeter.backendOf(reply)) {
        case "v1" -> lastV1AnswerNanos.set(answered);
        case "v2" -> lastV2AnswerNanos.set(answered);
        default -> failures.add("unexpected backend: " + reply.getValue());
      }
    } catch (StatusRuntimeException e) {
      // A client's first calls wait for its first configuration and may time out on a busy
      // machine; a failure counts once the client has been served: that is the traffic whose
      // calls must never fail.
      if (running && lastV1AnswerNanos.get() + lastV2AnswerNanos.get() > 0) {
        failures.add(e.getStatus().toString());
      }
    }
    calls.incrementAndGet();
  }

  long calls() {
    return calls.get();
  }

  /** When v1 last answered a call of this client ({@link System#nanoTime()}), or 0. */
  long lastV1AnswerNanos() {
    return lastV1AnswerNanos.get();
  }

  long lastV2AnswerNanos() {
    return lastV2AnswerNanos.get();
  }

  List<String> failures() {
    return List.copyOf(failures);
  }

  @Override
  public void close() {
    running = false;
    caller.shutdownNow();
    channel.shutdownNow();
    try {
      caller.awaitTermination(10, TimeUnit.SECONDS);
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    NameResolverRegistry.getDefaultRegistry().deregister(resolver);
  }
}
