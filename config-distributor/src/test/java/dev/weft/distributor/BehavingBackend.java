package dev.weft.distributor;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A greeter backend that misbehaves on purpose, for the traffic-policy tests: it answers late,
 * fails the first attempt of every request, or fails everything. It counts the calls it saw and the
 * calls in flight. Thread-safe: atomics and a concurrent set.
 */
final class BehavingBackend implements AutoCloseable {

  /** What the backend does with a call. */
  enum Behaviour {
    ANSWER,
    /** Fails the first attempt of each distinct request with UNAVAILABLE, answers the next. */
    FAIL_FIRST_ATTEMPT,
    /** Fails every call with UNAVAILABLE. */
    FAIL
  }

  private final String name;
  private final Behaviour behaviour;
  private final Duration latency;
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final Server server;

  BehavingBackend(String name, Behaviour behaviour, Duration latency) {
    this.name = name;
    this.behaviour = behaviour;
    this.latency = latency;
    ServerServiceDefinition service =
        ServerServiceDefinition.builder(Greeter.SERVICE)
            .addMethod(Greeter.SAY_HELLO, ServerCalls.asyncUnaryCall(this::handle))
            .build();
    try {
      server =
          Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
              .addService(service)
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int port() {
    return server.getPort();
  }

  int calls() {
    return calls.get();
  }

  private void handle(StringValue request, io.grpc.stub.StreamObserver<StringValue> response) {
    calls.incrementAndGet();
    inFlight.incrementAndGet();
    Runnable reply =
        () -> {
          inFlight.decrementAndGet();
          boolean fail =
              behaviour == Behaviour.FAIL
                  || (behaviour == Behaviour.FAIL_FIRST_ATTEMPT && seen.add(request.getValue()));
          if (fail) {
            response.onError(Status.UNAVAILABLE.withDescription(name + " failed").asException());
          } else {
            response.onNext(StringValue.of("hello " + request.getValue() + " from " + name));
            response.onCompleted();
          }
        };
    if (latency.isZero()) {
      reply.run();
    } else {
      var unused = timer.schedule(reply, latency.toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  int inFlight() {
    return inFlight.get();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
