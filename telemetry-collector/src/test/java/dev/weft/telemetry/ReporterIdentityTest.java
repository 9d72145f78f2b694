package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Who reports is who the mutual TLS certificate says, not what the report claims. */
class ReporterIdentityTest {

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private TestCertificates certificates;
  private TelemetryCollector collector;
  private Server server;

  @BeforeEach
  void start() throws Exception {
    certificates = new TestCertificates();
    collector =
        TelemetryCollector.builder(
                meters,
                target ->
                    Optional.of(
                        new Destination(
                            target.host(), "v1", Destination.ConnectionSecurity.MUTUAL_TLS)))
            .requireCertificate(true)
            .build();
    TestCertificates.Issued serving = certificates.issue(TestCertificates.loopback());
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0),
                TlsServerCredentials.newBuilder()
                    .keyManager(serving.keyManagers().getKeyManagers())
                    .trustManager(certificates.trustManagers().getTrustManagers())
                    .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                    .build())
            .addService(collector.metricsService())
            .build()
            .start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  void theCertificateNamesTheReporterWhateverTheResourceClaims() throws Exception {
    TestCertificates.Issued web = certificates.issue(TestCertificates.spiffeId("shop", "web"));
    OpenTelemetrySdk sdk =
        OpenTelemetrySdk.builder()
            .setMeterProvider(
                SdkMeterProvider.builder()
                    .setResource(
                        Resource.getDefault()
                            .merge(
                                Resource.create(
                                    Attributes.of(
                                        AttributeKey.stringKey("service.name"), "payments",
                                        AttributeKey.stringKey("k8s.namespace.name"), "bank"))))
                    .registerMetricReader(
                        PeriodicMetricReader.builder(
                                OtlpGrpcMetricExporter.builder()
                                    .setEndpoint("https://127.0.0.1:" + server.getPort())
                                    .setTrustedCertificates(certificates.caPem())
                                    .setClientTls(web.keyPem(), web.certificatePem())
                                    .build())
                            .setInterval(Duration.ofHours(1))
                            .build())
                    .build())
            .build();
    try {
      sdk.getMeter("grpc-java")
          .histogramBuilder(OtlpMetricsReceiver.CLIENT_ATTEMPT_DURATION)
          .setUnit("s")
          .build()
          .record(
              0.003,
              Attributes.of(
                  AttributeKey.stringKey("grpc.target"), "xds:///greeter.shop.svc.cluster.local",
                  AttributeKey.stringKey("grpc.method"), "helloworld.Greeter/SayHello",
                  AttributeKey.stringKey("grpc.status"), "OK"));
      assertThat(sdk.getSdkMeterProvider().forceFlush().join(30, TimeUnit.SECONDS).isSuccess())
          .isTrue();
    } finally {
      sdk.close();
    }

    List<EdgeStats> edges = collector.edges(Duration.ofMinutes(1));
    assertThat(edges)
        .extracting(EdgeStats::edge)
        .containsExactly(
            new EdgeStats.Edge(
                "web", "shop", "greeter.shop.svc.cluster.local", "v1", "mutual_tls"));
  }

  @Test
  void withoutACertificateOfTheMeshASenderIsRefusedWhenOneIsRequired() throws Exception {
    ManagedChannel channel =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                server.getPort(),
                TlsChannelCredentials.newBuilder()
                    .trustManager(certificates.trustManagers().getTrustManagers())
                    .build())
            .build();
    try {
      assertThatThrownBy(
              () ->
                  MetricsServiceGrpc.newBlockingStub(channel)
                      .export(ExportMetricsServiceRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              refused -> {
                assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                assertThat(refused.getStatus().getDescription()).contains("workload's certificate");
              });
    } finally {
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
