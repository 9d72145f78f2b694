package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.StringValue;
import dev.weft.demo.Greeter;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.RegistrySource;
import dev.weft.registry.TestObjects;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.grpc.Channel;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolverRegistry;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.JsonParser;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsChannelCredentials;
import io.grpc.xds.XdsNameResolverProvider;
import io.grpc.xds.XdsServerBuilder;
import io.grpc.xds.XdsServerCredentials;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A mesh in one JVM for end-to-end tests: a registry, the distributor serving it over a real ADS
 * server, greeter backends, and grpc-xds client channels that bootstrap from {@link Bootstrap}.
 * Each channel and server gets its bootstrap directly (grpc-xds caches the JVM-wide one), so tests
 * stay independent. Everything started here is closed by {@link #close()}.
 */
final class XdsTestbed implements AutoCloseable {

  static final String NAMESPACE = "demo";
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  final MeshRegistry registry = MeshRegistry.create();
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final ConfigDistributor distributor;
  private XdsServer xds;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private RegistrySource source;

  /** A testbed whose registry is fed by {@link #source()}. */
  XdsTestbed() {
    this(true);
  }

  /** A testbed; without a test source, the caller registers its own before anything else. */
  XdsTestbed(boolean withTestSource) {
    this(withTestSource, UnaryOperator.identity(), UnaryOperator.identity());
  }

  /** A testbed fed by {@link #source()}, whose distributor {@code settings} adjust. */
  XdsTestbed(UnaryOperator<ConfigDistributor.Builder> settings) {
    this(true, settings, UnaryOperator.identity());
  }

  /** A testbed fed by {@link #source()}, whose distributor and xDS server settings adjust. */
  XdsTestbed(
      UnaryOperator<ConfigDistributor.Builder> settings,
      UnaryOperator<XdsServer.Builder> serverSettings) {
    this(true, settings, serverSettings);
  }

  private XdsTestbed(
      boolean withTestSource,
      UnaryOperator<ConfigDistributor.Builder> settings,
      UnaryOperator<XdsServer.Builder> serverSettings) {
    if (withTestSource) {
      source = registry.registerSource("test");
    }
    distributor = settings.apply(ConfigDistributor.builder(registry).meterRegistry(meters)).build();
    xds = serverSettings.apply(XdsServer.builder(distributor).port(0)).start();
  }

  RegistrySource source() {
    return source;
  }

  int xdsPort() {
    return xds.port();
  }

  /** Stops the ADS server, as when the control plane goes away. */
  void stopXds() {
    xds.close();
  }

  /** Stops the ADS server gracefully, as on SIGTERM: see {@link XdsServer#drain}. */
  void drainXds(Duration period) {
    xds.drain(period);
  }

  /** Serves ADS again on the same port with {@code distributor}, as a restarted control plane. */
  void restartXds(ConfigDistributor replacement, int port) {
    xds = XdsServer.start(replacement, port);
  }

  /** A greeter backend on a free port; returns its port. */
  int startBackend(String name) {
    try {
      Server server =
          Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
              .addService(Greeter.service(name))
              .build()
              .start();
      toClose.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
      return server.getPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * An xDS-enabled greeter backend (gRFC A36) on {@code port}: it serves only once the control
   * plane has sent the Listener for its address.
   */
  Server startXdsBackend(String name, int port, String serviceAccount) {
    try {
      Server server =
          XdsServerBuilder.forPort(port, InsecureServerCredentials.create())
              .addService(Greeter.service(name))
              .overrideBootstrapForTest(bootstrap(serviceAccount))
              .build()
              .start();
      toClose.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A grpc-xds channel to {@code xds:///target}, bootstrapped as a workload of the namespace.
   * grpc-xds reads the JVM's bootstrap once, so each channel gets its own through a resolver
   * registered under a scheme of its own ({@code xds-test-N:///target}, resolved exactly as {@code
   * xds:///target}).
   */
  ManagedChannel client(String target) {
    return client(target, "", "");
  }

  /**
   * {@link #client}, of a workload whose bootstrap names its Pod {@code pod} and its zone {@code
   * zone} (each empty for none).
   */
  ManagedChannel client(String target, String pod, String zone) {
    String scheme = "xds-test-" + SCHEMES.incrementAndGet();
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest(
            scheme,
            bootstrap(
                new Bootstrap.Workload(NAMESPACE, "greeter-client", pod, zone), Optional.empty()));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    toClose.add(() -> NameResolverRegistry.getDefaultRegistry().deregister(resolver));
    ManagedChannel channel =
        Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
            .build();
    toClose.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  /**
   * Registers {@code service} in {@code namespace} with one endpoint on 127.0.0.1, run by a Pod of
   * {@code account}, and starts there an xDS-enabled greeter server named {@code service} that
   * bootstraps as that Pod, with {@code credentials} (files an agent wrote) for mutual TLS when the
   * config asks for it. Returns the server's port.
   */
  int secureXdsBackend(
      String namespace,
      String service,
      String account,
      Optional<Path> credentials,
      ServerInterceptor... interceptors) {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String pod = TestObjects.podName(service, "127.0.0.1");
    source.upsert(TestObjects.service(namespace, service, "http", 50051));
    source.upsert(TestObjects.pod(namespace, pod, account, "v1"));
    source.upsert(TestObjects.slice(namespace, service + "-1", service, port, "127.0.0.1"));
    try {
      Server server =
          XdsServerBuilder.forPort(
                  port, XdsServerCredentials.create(InsecureServerCredentials.create()))
              .addService(ServerInterceptors.intercept(Greeter.service(service), interceptors))
              .overrideBootstrapForTest(
                  bootstrap(new Bootstrap.Workload(namespace, account, pod, ""), credentials))
              .build()
              .start();
      toClose.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return port;
  }

  /**
   * A grpc-xds channel to {@code xds:///target} of a workload of {@code namespace}/{@code account},
   * with {@code credentials} for mutual TLS when the config asks for it.
   */
  ManagedChannel secureClient(
      String namespace, String account, Optional<Path> credentials, String target) {
    String scheme = "xds-test-" + SCHEMES.incrementAndGet();
    XdsNameResolverProvider resolver =
        XdsNameResolverProvider.createForTest(
            scheme, bootstrap(new Bootstrap.Workload(namespace, account, "", ""), credentials));
    NameResolverRegistry.getDefaultRegistry().register(resolver);
    toClose.add(() -> NameResolverRegistry.getDefaultRegistry().deregister(resolver));
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                scheme + ":///" + target,
                XdsChannelCredentials.create(InsecureChannelCredentials.create()))
            .build();
    toClose.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  @SuppressWarnings("unchecked")
  private Map<String, ?> bootstrap(Bootstrap.Workload workload, Optional<Path> credentials) {
    try {
      return (Map<String, ?>)
          JsonParser.parse(
              Bootstrap.json("localhost:" + xdsPort(), workload, credentials.map(TestCa::files)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  Map<String, ?> bootstrap(String serviceAccount) {
    Bootstrap.Workload workload = new Bootstrap.Workload(NAMESPACE, serviceAccount, "", "");
    try {
      return (Map<String, ?>) JsonParser.parse(Bootstrap.json("localhost:" + xdsPort(), workload));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One call; returns the backend that answered. */
  static String call(Channel channel, Duration deadline) {
    return call(channel, Greeter.SAY_HELLO, "test", deadline);
  }

  /** One call of {@code method} with {@code request}; returns the backend that answered. */
  static String call(
      Channel channel,
      MethodDescriptor<StringValue, StringValue> method,
      String request,
      Duration deadline) {
    StringValue reply =
        ClientCalls.blockingUnaryCall(
            channel,
            method,
            io.grpc.CallOptions.DEFAULT.withDeadlineAfter(
                deadline.toMillis(), TimeUnit.MILLISECONDS),
            StringValue.of(request));
    return Greeter.backendOf(reply);
  }

  /** One call; the backend that answered, or the status code when the call failed. */
  static String outcome(
      Channel channel, MethodDescriptor<StringValue, StringValue> method, String request) {
    try {
      return call(channel, method, request, Duration.ofSeconds(10));
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode().name();
    }
  }

  /** {@code calls} calls; how many each backend answered and how many failed with each status. */
  static Map<String, Integer> outcomes(
      Channel channel, MethodDescriptor<StringValue, StringValue> method, int calls) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      counts.merge(outcome(channel, method, "test"), 1, Integer::sum);
    }
    return counts;
  }

  /** {@code calls} calls; returns how many each backend answered. */
  static Map<String, Integer> spread(Channel channel, int calls) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      counts.merge(call(channel, Duration.ofSeconds(10)), 1, Integer::sum);
    }
    return counts;
  }

  /**
   * Calls until each of {@code backends} has answered, and fails if any call fails or another
   * answers. Round robin picks among the backends a channel is connected to, so a new channel's
   * first calls may all go to the one that connected first: counting a fixed number of calls would
   * depend on connection timing.
   */
  static void awaitEveryBackend(Channel channel, String... backends) {
    Set<String> answered = new HashSet<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              Map<String, Integer> spread = spread(channel, 20);
              assertThat(spread.keySet()).isSubsetOf(backends);
              answered.addAll(spread.keySet());
              assertThat(answered).containsExactlyInAnyOrder(backends);
            });
  }

  /** The backend that answered, or the status code when the call failed. */
  static String callOrStatus(Channel channel, Duration deadline) {
    try {
      return call(channel, deadline);
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode().name();
    }
  }

  /** Closes {@code resource} with the testbed. */
  <T extends AutoCloseable> T closeLater(T resource) {
    toClose.add(resource);
    return resource;
  }

  /** Registers the Service {@code name} with one slice per backend port, all on 127.0.0.1. */
  void service(String name, int servicePort, int... backendPorts) {
    source.upsert(TestObjects.service(NAMESPACE, name, "http", servicePort));
    for (int backendPort : backendPorts) {
      source.upsert(
          TestObjects.slice(NAMESPACE, name + "-" + backendPort, name, backendPort, "127.0.0.1"));
    }
  }

  /** Registers {@code greeter} with one slice per backend port, all on 127.0.0.1. */
  void greeter(int servicePort, int... backendPorts) {
    source.upsert(TestObjects.service(NAMESPACE, "greeter", "http", servicePort));
    for (int backendPort : backendPorts) {
      source.upsert(backendSlice(backendPort));
    }
  }

  static EndpointSlice backendSlice(int backendPort) {
    return TestObjects.slice(
        NAMESPACE, "greeter-" + backendPort, "greeter", backendPort, "127.0.0.1");
  }

  @Override
  public void close() {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        throw new IllegalStateException("closing a test resource failed", e);
      }
    }
    xds.close();
    distributor.close();
    registry.close();
  }
}
