package dev.weft.controller;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;

/**
 * The OpenTelemetry SDK as a standalone workload sets it up to report its calls to the control
 * plane: OTLP/gRPC to the plaintext xDS port, saying who it is in its resource. It exports only
 * when a test flushes it (its timer is an hour), so that what the collector holds is exactly what
 * was flushed.
 */
final class StandaloneMetricsSender {

  private StandaloneMetricsSender() {}

  static OpenTelemetrySdk sdk(String workload, String namespace, int xdsPort) {
    return OpenTelemetrySdk.builder()
        .setMeterProvider(
            SdkMeterProvider.builder()
                .setResource(
                    Resource.getDefault()
                        .merge(
                            Resource.create(
                                Attributes.of(
                                    AttributeKey.stringKey("service.name"), workload,
                                    AttributeKey.stringKey("k8s.namespace.name"), namespace))))
                .registerMetricReader(
                    PeriodicMetricReader.builder(
                            OtlpGrpcMetricExporter.builder()
                                .setEndpoint("http://127.0.0.1:" + xdsPort)
                                .build())
                        .setInterval(Duration.ofHours(1))
                        .build())
                .build())
        .build();
  }
}
