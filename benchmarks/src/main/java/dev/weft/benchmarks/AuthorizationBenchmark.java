package dev.weft.benchmarks;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What AuthorizationPolicies cost the control plane. Authorization itself runs in the data plane
 * (each server's RBAC filter, per call); the control plane's part is translation, once per change
 * of a policy or of the Services a server serves, into the Listener of every xDS-enabled server of
 * the Services the policy targets. This measures that part as a server sees it: one ADS stream of
 * an xDS-enabled server of {@code svc-0} (the xds-load mesh around it) subscribed to its server
 * Listener, then, for each policy count P, P AuthorizationPolicies on {@code svc-0} of R rules
 * each, and edits of one of them: the time from each edit to the server's new Listener, and its
 * size. The difference per policy between P and none is the cost of a policy on an edit; what P
 * adds to a Listener is the cost in bytes of every push of it.
 */
@Command(
    name = "authorization",
    mixinStandardHelpOptions = true,
    description =
        "AuthorizationPolicy translation: time from a policy edit to an xDS-enabled server's new"
            + " Listener, and its size, with 0 to P policies on its Service.")
final class AuthorizationBenchmark implements Callable<Integer> {

  private static final String LISTENER_TYPE =
      "type.googleapis.com/envoy.config.listener.v3.Listener";

  @Option(names = "--services", defaultValue = "1000", description = "Services (default 1000).")
  int services;

  @Option(
      names = "--endpoints",
      defaultValue = "5",
      description = "Endpoints per service (default 5).")
  int endpoints;

  @Option(
      names = "--policies",
      defaultValue = "0,1,10,100",
      split = ",",
      description = "Policy counts on the server's Service (default 0,1,10,100).")
  int[] policyCounts;

  @Option(
      names = "--rules",
      defaultValue = "4",
      description = "Rules per policy, each from 2 principals to 2 paths (default 4).")
  int rules;

  @Option(
      names = "--edits",
      defaultValue = "40",
      description = "Measured edits per policy count (default 40).")
  int edits;

  @Override
  public Integer call() throws Exception {
    if (services < 1 || endpoints < 1 || rules < 1 || edits < 1) {
      System.err.println("--services, --endpoints, --rules and --edits must be at least 1");
      return 2;
    }
    if (Arrays.stream(policyCounts).anyMatch(p -> p < 0)) {
      System.err.println("--policies must be counts of 0 or more");
      return 2;
    }
    System.out.printf(
        "AuthorizationPolicy translation on %s%n  mesh: %,d Services x %d endpoints; policies of"
            + " %d rules on svc-0; %d edits per count; quiet period 0%n",
        Machine.describe(), services, endpoints, rules, edits);

    MeshRegistry registry = MeshRegistry.create();
    RegistrySource source = registry.registerSource("benchmark");
    new BenchMesh(services, endpoints).load(registry, source);
    source.markSynced();
    // No quiet period: the figures are translation and delivery, not the wait that batches a
    // multi-object edit (10 ms by default, on top of these).
    ConfigDistributor distributor =
        ConfigDistributor.builder(registry).quietPeriod(Duration.ZERO).build();
    XdsServer server = XdsServer.builder(distributor).address("127.0.0.1").port(0).start();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    try (ServerStream stream = new ServerStream(channel)) {
      stream.subscribe();
      Listener empty = stream.next(listener -> true);
      System.out.printf(
          "%n| policies | rules | edit to new Listener, median | p90 | max | CPU per edit |"
              + " Listener bytes |%n|---|---|---|---|---|---|---|%n");
      int applied = 0;
      long generation = 0;
      for (int count : policyCounts) {
        for (int p = applied; p < count; p++) {
          source.upsert(policy(p, generation++));
        }
        for (int p = count; p < applied; p++) {
          source.delete(policy(p, 0));
        }
        applied = count;
        Listener current = count == 0 ? empty : stream.latest(Duration.ofSeconds(5));
        long[] nanos = new long[count == 0 ? 0 : edits];
        long cpuBefore = Machine.cpuNanos();
        for (int e = 0; e < nanos.length; e++) {
          long mark = generation++;
          long start = System.nanoTime();
          source.upsert(policy(0, mark));
          current = stream.next(listener -> contains(listener, marker(mark)));
          nanos[e] = System.nanoTime() - start;
        }
        // This process's CPU: the registry, the distributor and the stream (the client's part is
        // a few messages an edit); what P policies add to it is their translation.
        long cpuPerEdit = nanos.length == 0 ? 0 : (Machine.cpuNanos() - cpuBefore) / nanos.length;
        Arrays.sort(nanos);
        System.out.printf(
            "| %d | %d | %s | %s | %s | %s | %,d |%n",
            count,
            count * rules,
            millis(nanos, 0.5),
            millis(nanos, 0.9),
            millis(nanos, 1.0),
            nanos.length == 0 ? "–" : String.format(Locale.ROOT, "%.2f ms", cpuPerEdit / 1e6),
            current.getSerializedSize());
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.close();
      distributor.close();
    }
    return 0;
  }

  private AuthorizationPolicy policy(int index, long generation) {
    StringBuilder spec = new StringBuilder();
    for (int r = 0; r < rules; r++) {
      spec.append(
          String.format(
              Locale.ROOT,
              "  - from: [{principals: [cluster.local/ns/bench/sa/caller-%d-%d, %s]}]%n"
                  + "    to: [{paths: [/pkg.Service%d/Get, /pkg.Service%d/List]}]%n",
              index,
              r,
              r == 0 ? "cluster.local/ns/bench/sa/" + marker(generation) : "'*/sa/any-" + r + "'",
              r,
              r));
    }
    return Serialization.unmarshal(
        String.format(
            Locale.ROOT,
            "apiVersion: mesh.weft.dev/v1alpha1%n"
                + "kind: AuthorizationPolicy%n"
                + "metadata: {name: policy-%d, namespace: %s}%n"
                + "spec:%n"
                + "  targetRefs: [{group: \"\", kind: Service, name: %s}]%n"
                + "  rules:%n%s",
            index,
            BenchMesh.NAMESPACE,
            BenchMesh.serviceName(0),
            spec),
        AuthorizationPolicy.class);
  }

  /** Ends with a letter, so that no marker is the start of another ("edit-1" of "edit-12"). */
  private static String marker(long generation) {
    return "edit-" + generation + "-x";
  }

  /** Whether the ASCII {@code text} is among the Listener's bytes (Latin-1 maps each byte). */
  private static boolean contains(Listener listener, String text) {
    return new String(listener.toByteArray(), StandardCharsets.ISO_8859_1).contains(text);
  }

  private static String millis(long[] sorted, double quantile) {
    if (sorted.length == 0) {
      return "–";
    }
    int index = Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1);
    return String.format(Locale.ROOT, "%.2f ms", sorted[Math.max(0, index)] / 1e6);
  }

  /**
   * The ADS stream of an xDS-enabled server of svc-0's first endpoint: its node names the Pod,
   * which ties it to svc-0; it ACKs every response and hands each Listener over.
   */
  private static final class ServerStream implements AutoCloseable {
    private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    private final StreamObserver<DiscoveryRequest> requests;
    private final String name;

    ServerStream(ManagedChannel channel) {
      this.name = "weft/inbound?address=11.0.0.0:" + BenchMesh.PORT;
      this.requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      ack(response);
                      received.add(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                      received.add(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                      received.add(Status.OK);
                    }
                  });
    }

    void subscribe() {
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setNode(
                  Node.newBuilder()
                      .setId("svc-0-server.bench")
                      .setMetadata(
                          Struct.newBuilder()
                              .putFields("NAMESPACE", text(BenchMesh.NAMESPACE))
                              .putFields("SERVICE_ACCOUNT", text(BenchMesh.serviceName(0)))
                              .putFields("POD_NAME", text("svc-0-7d9f8c6b5-0"))))
              .setTypeUrl(LISTENER_TYPE)
              .addResourceNames(name)
              .build());
    }

    private void ack(DiscoveryResponse response) {
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setTypeUrl(LISTENER_TYPE)
              .addResourceNames(name)
              .setVersionInfo(response.getVersionInfo())
              .setResponseNonce(response.getNonce())
              .build());
    }

    /** The next Listener that {@code wanted} accepts, within 10 s. */
    Listener next(java.util.function.Predicate<Listener> wanted) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        Object next = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (next == null) {
          throw new IllegalStateException("no wanted Listener within 10 s");
        }
        if (next instanceof Status status) {
          throw new IllegalStateException("the stream ended: " + status);
        }
        Listener listener = listener((DiscoveryResponse) next);
        if (listener != null && wanted.test(listener)) {
          return listener;
        }
      }
    }

    /** The last Listener received once none has come for {@code quiet}. */
    Listener latest(Duration quiet) throws Exception {
      Listener last = null;
      while (true) {
        Object next = received.poll(quiet.toNanos(), TimeUnit.NANOSECONDS);
        if (next == null) {
          if (last == null) {
            throw new IllegalStateException("no Listener within " + quiet);
          }
          return last;
        }
        if (next instanceof Status status) {
          throw new IllegalStateException("the stream ended: " + status);
        }
        Listener listener = listener((DiscoveryResponse) next);
        if (listener != null) {
          last = listener;
        }
      }
    }

    private static Listener listener(DiscoveryResponse response)
        throws InvalidProtocolBufferException {
      List<Listener> listeners = new ArrayList<>();
      for (var resource : response.getResourcesList()) {
        listeners.add(resource.unpack(Listener.class));
      }
      return listeners.isEmpty() ? null : listeners.get(0);
    }

    private static Value text(String value) {
      return Value.newBuilder().setStringValue(value).build();
    }

    @Override
    public void close() {
      requests.onCompleted();
    }
  }
}
