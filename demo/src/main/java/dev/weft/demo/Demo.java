package dev.weft.demo;

import com.google.protobuf.StringValue;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.grpc.stub.ClientCalls;
import io.grpc.xds.XdsServerBuilder;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Watches the mesh work: starts the two greeter backends of the demo config as xDS-enabled gRPC
 * servers (they serve once the control plane sends them their Listener), then a client that calls
 * {@code xds:///greeter.demo.svc.cluster.local:50051} and prints which backend answered each call.
 * Everything bootstraps from the running control plane's {@code /bootstrap}.
 */
@Command(
    name = "weft-demo",
    mixinStandardHelpOptions = true,
    description = "Greeter backends and an xds:/// client against a running Weft control plane.")
public final class Demo implements Callable<Integer> {

  /** Who the demo's client is in the control plane's service graph. */
  static final String CLIENT_WORKLOAD = "demo-client";

  private static final Duration EXPORT_INTERVAL = Duration.ofSeconds(5);

  @Option(
      names = "--control-plane",
      defaultValue = "http://localhost:8080",
      description = "The control plane's HTTP address (default ${DEFAULT-VALUE}).")
  URI controlPlane;

  @Option(
      names = "--target",
      defaultValue = "greeter.demo.svc.cluster.local:50051",
      description = "The service to call (default ${DEFAULT-VALUE}).")
  String target;

  @Option(
      names = "--backends",
      split = ",",
      defaultValue = "greeter-v1=50061,greeter-v2=50062",
      description = "Backends to start, NAME=PORT (default ${DEFAULT-VALUE}); empty for none.")
  List<String> backends;

  @Option(
      names = "--metrics-to",
      defaultValue = "http://localhost:15010",
      description =
          "Where the client and backends export their call metrics (OTLP/gRPC), so the control"
              + " plane's service graph shows them (default ${DEFAULT-VALUE}: its xDS port);"
              + " 'none' to export nothing.")
  String metricsTo;

  @Option(names = "--calls", defaultValue = "20", description = "Calls to make (default 20).")
  int calls;

  @Option(
      names = "--interval",
      defaultValue = "PT0.5S",
      description = "Time between calls, ISO-8601 (default ${DEFAULT-VALUE}).")
  Duration interval;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Demo()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    // grpc-xds reads its bootstrap from this property once per process: set it first.
    System.setProperty("io.grpc.xds.bootstrapConfig", fetchBootstrap());
    List<Server> servers = new ArrayList<>();
    List<OpenTelemetrySdk> exporters = new ArrayList<>();
    ManagedChannel channel = null;
    try {
      for (String backend : backends) {
        if (backend.isBlank()) {
          continue;
        }
        String[] nameAndPort = backend.split("=", 2);
        XdsServerBuilder serverBuilder =
            XdsServerBuilder.forPort(
                    Integer.parseInt(nameAndPort[1]), InsecureServerCredentials.create())
                .addService(Greeter.service(nameAndPort[0]));
        reportCalls(exporters, "greeter", versionOf(nameAndPort[0]))
            .ifPresent(plugin -> plugin.configureServerBuilder(serverBuilder));
        Server server = serverBuilder.build().start();
        servers.add(server);
        System.out.printf("backend %s serving on port %s%n", nameAndPort[0], nameAndPort[1]);
      }
      ManagedChannelBuilder<?> channelBuilder =
          Grpc.newChannelBuilder("xds:///" + target, InsecureChannelCredentials.create());
      reportCalls(exporters, CLIENT_WORKLOAD, "")
          .ifPresent(plugin -> plugin.configureChannelBuilder(channelBuilder));
      channel = channelBuilder.build();
      Map<String, Integer> answered = new TreeMap<>();
      for (int i = 1; i <= calls; i++) {
        String result = callOnce(channel);
        answered.merge(result, 1, Integer::sum);
        System.out.printf("call %2d -> %s%n", i, result);
        Thread.sleep(interval.toMillis());
      }
      System.out.println("answered by: " + answered);
      return 0;
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      for (Server server : servers) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // Closing an SDK exports what it has not yet sent.
      exporters.forEach(OpenTelemetrySdk::close);
    }
  }

  /**
   * grpc-java's metrics plugin for one workload of the demo, exporting OTLP to {@link #metricsTo}
   * every few seconds; empty when the demo exports nothing. Standalone, the control plane takes who
   * is reporting from the resource: {@code service.name} and {@code k8s.namespace.name}.
   */
  private Optional<GrpcOpenTelemetry> reportCalls(
      List<OpenTelemetrySdk> exporters, String workload, String version) {
    if (metricsTo.equals("none")) {
      return Optional.empty();
    }
    AttributesBuilder attributes =
        Attributes.builder()
            .put(AttributeKey.stringKey("service.name"), workload)
            .put(AttributeKey.stringKey("k8s.namespace.name"), "demo");
    if (!version.isEmpty()) {
      attributes.put(AttributeKey.stringKey("service.version"), version);
    }
    OpenTelemetrySdk sdk =
        OpenTelemetrySdk.builder()
            .setMeterProvider(
                SdkMeterProvider.builder()
                    .setResource(Resource.getDefault().merge(Resource.create(attributes.build())))
                    .registerMetricReader(
                        PeriodicMetricReader.builder(
                                OtlpGrpcMetricExporter.builder().setEndpoint(metricsTo).build())
                            .setInterval(EXPORT_INTERVAL)
                            .build())
                    .build())
            .build();
    exporters.add(sdk);
    return Optional.of(
        GrpcOpenTelemetry.newBuilder()
            .sdk(sdk)
            // Which backend served each call: the control plane turns it into the version.
            .addOptionalLabel("grpc.lb.backend_service")
            .build());
  }

  /** {@code greeter-v1} -> {@code v1}: the demo names its backends NAME-VERSION. */
  private static String versionOf(String backend) {
    int dash = backend.lastIndexOf('-');
    return dash < 0 ? "" : backend.substring(dash + 1);
  }

  private String callOnce(ManagedChannel channel) {
    try {
      StringValue reply =
          ClientCalls.blockingUnaryCall(
              channel,
              Greeter.SAY_HELLO,
              CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
              StringValue.of("demo"));
      return Greeter.backendOf(reply);
    } catch (StatusRuntimeException e) {
      return "failed: " + e.getStatus();
    }
  }

  private String fetchBootstrap() throws IOException, InterruptedException {
    URI uri =
        controlPlane.resolve("/bootstrap?namespace=demo&serviceAccount=greeter&pod=weft-demo");
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "cannot get a bootstrap from "
              + uri
              + ": HTTP "
              + response.statusCode()
              + " "
              + response.body());
    }
    return response.body();
  }
}
