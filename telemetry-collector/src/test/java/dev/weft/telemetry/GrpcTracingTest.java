package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What docs/telemetry.md tells a proxyless grpc-java workload to do for tracing, done by a real
 * client and server (grpc-opentelemetry, the OpenTelemetry SDK's tracer provider and OTLP span
 * exporter) over loopback, exporting to an OTLP/gRPC trace receiver: the calls' spans arrive as one
 * trace, carried in the W3C {@code traceparent} header Envoy's tracer reads, and the sampling the
 * docs give ({@code parentBased(traceIdRatioBased(percentage / 100))}) decides whether they do.
 *
 * <p>grpc-java 1.85 traces only with {@code GRPC_EXPERIMENTAL_ENABLE_OTEL_TRACING}; the module's
 * surefire configuration sets it as a system property, as the docs say a workload must.
 */
class GrpcTracingTest {

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("weft.test.Echo/Echo")
          .setRequestMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
          .setResponseMarshaller(new GrpcOpenTelemetryExportTest.BytesMarshaller())
          .build();

  /** The receiver of an OpenTelemetry Collector, as OTLP/gRPC defines it. */
  private static final MethodDescriptor<ExportTraceServiceRequest, ExportTraceServiceResponse>
      EXPORT =
          MethodDescriptor.newBuilder(
                  ProtoUtils.marshaller(ExportTraceServiceRequest.getDefaultInstance()),
                  ProtoUtils.marshaller(ExportTraceServiceResponse.getDefaultInstance()))
              .setType(MethodDescriptor.MethodType.UNARY)
              .setFullMethodName("opentelemetry.proto.collector.trace.v1.TraceService/Export")
              .build();

  private static final Metadata.Key<String> TRACEPARENT =
      Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final ConcurrentLinkedQueue<ExportTraceServiceRequest> exports =
      new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> traceparents = new ConcurrentLinkedQueue<>();
  private int collectorPort;

  @BeforeEach
  void startCollector() throws Exception {
    Server collector =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerServiceDefinition.builder(
                        "opentelemetry.proto.collector.trace.v1.TraceService")
                    .addMethod(
                        EXPORT,
                        ServerCalls.asyncUnaryCall(
                            (request, responses) -> {
                              exports.add(request);
                              responses.onNext(ExportTraceServiceResponse.getDefaultInstance());
                              responses.onCompleted();
                            }))
                    .build())
            .build()
            .start();
    cleanup.add(() -> shutdown(collector));
    collectorPort = collector.getPort();
  }

  @AfterEach
  void stopEverything() throws Exception {
    Collections.reverse(cleanup);
    for (AutoCloseable closeable : cleanup) {
      closeable.close();
    }
  }

  @Test
  void aCallIsOneTraceFromTheClientToTheServerInTheCollector() throws Exception {
    // randomSamplingPercentage: 100 -> a ratio of 1.
    OpenTelemetrySdk webSdk = sdk("web", 1.0);
    OpenTelemetrySdk greeterSdk = sdk("greeter", 1.0);
    ManagedChannel channel = channelTo(startGreeter(greeterSdk), webSdk);

    var unused = ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT, new byte[] {1});
    flush(webSdk, greeterSdk);

    List<ExportedSpan> spans = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              spans.clear();
              spans.addAll(spans());
              assertThat(spans).extracting(ExportedSpan::service).contains("web", "greeter");
            });
    ExportedSpan call = only(spans, "web", "Sent.weft.test.Echo.Echo");
    ExportedSpan attempt = only(spans, "web", "Attempt.weft.test.Echo.Echo");
    ExportedSpan served = only(spans, "greeter", "Recv.weft.test.Echo.Echo");
    assertThat(List.of(attempt.span().getTraceId(), served.span().getTraceId()))
        .as("one trace")
        .containsOnly(call.span().getTraceId());
    assertThat(attempt.span().getParentSpanId()).isEqualTo(call.span().getSpanId());
    assertThat(served.span().getParentSpanId()).isEqualTo(attempt.span().getSpanId());
    // What crossed the wire is W3C trace context, the header Envoy's tracer reads and writes.
    assertThat(traceparents)
        .singleElement()
        .satisfies(
            header -> {
              assertThat(header)
                  .startsWith(
                      "00-"
                          + hex(call.span().getTraceId())
                          + "-"
                          + hex(attempt.span().getSpanId())
                          + "-");
              assertThat(sampled(header)).isTrue();
            });
  }

  @Test
  void atZeroPercentNothingIsSampledAndTheServerFollowsTheCaller() throws Exception {
    OpenTelemetrySdk webSdk = sdk("web", 0.0);
    // The server would sample everything of its own accord; parentBased follows the caller.
    OpenTelemetrySdk greeterSdk = sdk("greeter", 1.0);
    ManagedChannel channel = channelTo(startGreeter(greeterSdk), webSdk);

    for (int i = 0; i < 20; i++) {
      var unused =
          ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT, new byte[] {1});
    }
    flush(webSdk, greeterSdk);

    // A flush returns once its export is answered: nothing was there to send.
    assertThat(spans()).isEmpty();
    assertThat(traceparents).hasSize(20).noneMatch(GrpcTracingTest::sampled);
  }

  /** As docs/telemetry.md has it: a tracer provider exporting OTLP/gRPC, W3C propagation. */
  private OpenTelemetrySdk sdk(String workload, double ratio) {
    OtlpGrpcSpanExporter exporter =
        OtlpGrpcSpanExporter.builder().setEndpoint("http://127.0.0.1:" + collectorPort).build();
    SdkTracerProvider tracerProvider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()
                    .merge(
                        Resource.create(
                            Attributes.of(AttributeKey.stringKey("service.name"), workload))))
            .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(ratio)))
            .addSpanProcessor(BatchSpanProcessor.builder(exporter).build())
            .build();
    OpenTelemetrySdk sdk =
        OpenTelemetrySdk.builder()
            .setTracerProvider(tracerProvider)
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build();
    cleanup.add(sdk::close);
    return sdk;
  }

  private Server startGreeter(OpenTelemetrySdk sdk) throws Exception {
    ServerInterceptor headers =
        new ServerInterceptor() {
          @Override
          public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(
              io.grpc.ServerCall<Q, A> call,
              Metadata metadata,
              io.grpc.ServerCallHandler<Q, A> next) {
            String traceparent = metadata.get(TRACEPARENT);
            if (traceparent != null) {
              traceparents.add(traceparent);
            }
            return next.startCall(call, metadata);
          }
        };
    ServerBuilder<?> builder =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerInterceptors.intercept(
                    ServerServiceDefinition.builder("weft.test.Echo")
                        .addMethod(
                            ECHO,
                            ServerCalls.asyncUnaryCall(
                                (request, responses) -> {
                                  responses.onNext(request);
                                  responses.onCompleted();
                                }))
                        .build(),
                    headers));
    GrpcOpenTelemetry.newBuilder().sdk(sdk).build().configureServerBuilder(builder);
    Server server = builder.build().start();
    cleanup.add(() -> shutdown(server));
    return server;
  }

  private ManagedChannel channelTo(Server server, OpenTelemetrySdk sdk) {
    ManagedChannelBuilder<?> builder =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    GrpcOpenTelemetry.newBuilder().sdk(sdk).build().configureChannelBuilder(builder);
    ManagedChannel channel = builder.build();
    cleanup.add(
        () -> {
          channel.shutdownNow();
          channel.awaitTermination(10, TimeUnit.SECONDS);
        });
    return channel;
  }

  private static void flush(OpenTelemetrySdk... sdks) {
    for (OpenTelemetrySdk sdk : sdks) {
      assertThat(sdk.getSdkTracerProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    }
  }

  /** A span as the collector received it, with its sender's {@code service.name}. */
  private record ExportedSpan(String service, Span span) {}

  private List<ExportedSpan> spans() {
    List<ExportedSpan> spans = new ArrayList<>();
    for (ExportTraceServiceRequest export : exports) {
      for (ResourceSpans resource : export.getResourceSpansList()) {
        String service =
            resource.getResource().getAttributesList().stream()
                .filter(attribute -> attribute.getKey().equals("service.name"))
                .map(KeyValue::getValue)
                .map(value -> value.getStringValue())
                .findFirst()
                .orElse("");
        for (ScopeSpans scope : resource.getScopeSpansList()) {
          for (Span span : scope.getSpansList()) {
            spans.add(new ExportedSpan(service, span));
          }
        }
      }
    }
    return spans;
  }

  private static ExportedSpan only(List<ExportedSpan> spans, String service, String name) {
    List<ExportedSpan> named =
        spans.stream()
            .filter(span -> span.service().equals(service) && span.span().getName().equals(name))
            .toList();
    assertThat(named).as("%s's spans named %s among %s", service, name, spans).hasSize(1);
    return named.get(0);
  }

  /** Whether a {@code traceparent}'s flags say sampled (bit 0; bit 1 is W3C level 2's random). */
  private static boolean sampled(String traceparent) {
    int flags = Integer.parseInt(traceparent.substring(traceparent.length() - 2), 16);
    return (flags & 1) == 1;
  }

  private static String hex(ByteString bytes) {
    return HexFormat.of().formatHex(bytes.toByteArray());
  }

  private static void shutdown(Server server) throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }
}
