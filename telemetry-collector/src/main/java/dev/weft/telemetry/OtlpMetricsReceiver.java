package dev.weft.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TextFormat;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * OTLP's {@code opentelemetry.proto.collector.metrics.v1.MetricsService/Export}: reads grpc-java's
 * per-call latency histograms ({@code grpc.client.attempt.duration}, {@code
 * grpc.server.call.duration}, as grpc-opentelemetry records them) and adds them to the golden
 * metrics. Other metrics are accepted and ignored.
 *
 * <p>An export is checked whole before anything is counted: one that does not parse, or whose
 * histograms are malformed, is refused with {@code INVALID_ARGUMENT}; one with more data points
 * than allowed with {@code RESOURCE_EXHAUSTED}; each status names what was wrong. Points the
 * collector will not keep (unknown destination, no room for another series) are reported back as
 * OTLP's partial success, and counted.
 */
final class OtlpMetricsReceiver {

  static final String CLIENT_ATTEMPT_DURATION = "grpc.client.attempt.duration";
  static final String SERVER_CALL_DURATION = "grpc.server.call.duration";

  /** A series key longer than this is refused: it would be kept in memory per series. */
  static final int MAX_SERIES_KEY_CHARS = 4096;

  /** An export as it came off the wire: parsed, or the reason it did not parse. */
  record ReceivedExport(ExportMetricsServiceRequest request, String parseError) {}

  /** One histogram point to add, validated. */
  private record Observation(
      boolean clientSide,
      Reporter reporter,
      String reporterVersion,
      CallTarget target,
      int grpcStatus,
      String senderKey,
      String pointKey,
      boolean cumulative,
      CumulativeDeltas.HistogramTotals totals,
      List<Double> bounds,
      double toMillis) {}

  private static final class InvalidExport extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidExport(String message) {
      super(message, null, false, false);
    }
  }

  private final GoldenMetrics golden;
  private final CumulativeDeltas deltas;
  private final DestinationResolver destinations;
  private final int maxDataPointsPerExport;
  private final Counter accepted;
  private final Counter refusedInvalid;
  private final Counter refusedTooLarge;
  private final Counter unknownDestinations;
  private final Counter cumulativeOverflow;

  OtlpMetricsReceiver(
      GoldenMetrics golden,
      CumulativeDeltas deltas,
      DestinationResolver destinations,
      int maxDataPointsPerExport,
      MeterRegistry meters) {
    this.golden = golden;
    this.deltas = deltas;
    this.destinations = destinations;
    this.maxDataPointsPerExport = maxDataPointsPerExport;
    this.accepted = exportCounter(meters, "accepted");
    this.refusedInvalid = exportCounter(meters, "invalid");
    this.refusedTooLarge = exportCounter(meters, "too_large");
    this.unknownDestinations =
        Counter.builder("weft.telemetry.destinations.unknown")
            .description(
                "Reported data points whose target the registry does not know (counted, not kept)")
            .register(meters);
    this.cumulativeOverflow = GoldenMetrics.overflowCounter(meters, "cumulative");
  }

  private static Counter exportCounter(MeterRegistry meters, String outcome) {
    return Counter.builder("weft.telemetry.exports")
        .description("OTLP metric exports received, by outcome")
        .tag("outcome", outcome)
        .register(meters);
  }

  /** The service, with a request marshaller that turns bytes that do not parse into a refusal. */
  ServerServiceDefinition service() {
    MethodDescriptor<ReceivedExport, ExportMetricsServiceResponse> export =
        MetricsServiceGrpc.getExportMethod().toBuilder(
                new ExportMarshaller(),
                ProtoUtils.marshaller(ExportMetricsServiceResponse.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(MetricsServiceGrpc.SERVICE_NAME)
        .addMethod(export, ServerCalls.asyncUnaryCall(this::export))
        .build();
  }

  void export(ReceivedExport received, StreamObserver<ExportMetricsServiceResponse> responses) {
    if (received.parseError() != null) {
      refusedInvalid.increment();
      responses.onError(
          Status.INVALID_ARGUMENT
              .withDescription("not an OTLP ExportMetricsServiceRequest: " + received.parseError())
              .asRuntimeException());
      return;
    }
    ExportMetricsServiceRequest request = received.request();
    int points = dataPoints(request);
    if (points > maxDataPointsPerExport) {
      refusedTooLarge.increment();
      responses.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription(
                  "the export carries "
                      + points
                      + " data points; this collector takes at most "
                      + maxDataPointsPerExport
                      + " per export (export more often or in smaller batches)")
              .asRuntimeException());
      return;
    }
    List<Observation> observations;
    try {
      observations = observations(request);
    } catch (InvalidExport invalid) {
      refusedInvalid.increment();
      responses.onError(
          Status.INVALID_ARGUMENT.withDescription(invalid.getMessage()).asRuntimeException());
      return;
    }
    long unknown = 0;
    long overflowed = 0;
    for (Observation observation : observations) {
      switch (add(observation)) {
        case UNKNOWN_DESTINATION -> unknown++;
        case OVERFLOW -> overflowed++;
        case KEPT -> {}
      }
    }
    accepted.increment();
    ExportMetricsServiceResponse.Builder response = ExportMetricsServiceResponse.newBuilder();
    if (unknown + overflowed > 0) {
      response.setPartialSuccess(
          ExportMetricsPartialSuccess.newBuilder()
              .setRejectedDataPoints(unknown + overflowed)
              .setErrorMessage(
                  unknown
                      + " data points name targets the mesh does not know; "
                      + overflowed
                      + " would exceed the collector's bound on series"));
    }
    responses.onNext(response.build());
    responses.onCompleted();
  }

  private enum Outcome {
    KEPT,
    UNKNOWN_DESTINATION,
    OVERFLOW
  }

  private Outcome add(Observation observation) {
    GoldenMetrics.SeriesKey key;
    if (observation.clientSide()) {
      Optional<Destination> destination = destinations.resolve(observation.target());
      if (destination.isEmpty()) {
        unknownDestinations.increment();
        return Outcome.UNKNOWN_DESTINATION;
      }
      key =
          new GoldenMetrics.SeriesKey(
              GoldenMetrics.REPORTER_SOURCE,
              observation.reporter().workload(),
              observation.reporter().namespace(),
              Reporter.UNKNOWN,
              Reporter.UNKNOWN,
              destination.get().service(),
              destination.get().version(),
              observation.grpcStatus(),
              GoldenMetrics.SeriesKey.GRPC_RESPONSE_CODE,
              destination.get().security().label());
    } else {
      // A server knows itself but not who called it.
      key =
          new GoldenMetrics.SeriesKey(
              GoldenMetrics.REPORTER_DESTINATION,
              Reporter.UNKNOWN,
              Reporter.UNKNOWN,
              observation.reporter().workload(),
              observation.reporter().namespace(),
              Reporter.UNKNOWN,
              observation.reporterVersion(),
              observation.grpcStatus(),
              GoldenMetrics.SeriesKey.GRPC_RESPONSE_CODE,
              Destination.ConnectionSecurity.UNKNOWN.label());
    }
    long[] senderCounts;
    if (observation.cumulative()) {
      Optional<CumulativeDeltas.HistogramDelta> delta =
          deltas.delta(observation.senderKey(), observation.pointKey(), observation.totals());
      if (delta.isEmpty()) {
        cumulativeOverflow.increment();
        return Outcome.OVERFLOW;
      }
      senderCounts = delta.get().bucketCounts();
    } else {
      senderCounts = observation.totals().bucketCounts();
    }
    long[] counts =
        LatencyBuckets.rebucket(observation.bounds(), senderCounts, observation.toMillis());
    long calls = 0;
    for (long count : counts) {
      calls += count;
    }
    if (calls == 0) {
      // Nothing happened since the last export: no reason to create a series.
      return Outcome.KEPT;
    }
    return golden.record(key, counts) ? Outcome.KEPT : Outcome.OVERFLOW;
  }

  private static int dataPoints(ExportMetricsServiceRequest request) {
    int points = 0;
    for (ResourceMetrics resource : request.getResourceMetricsList()) {
      for (ScopeMetrics scope : resource.getScopeMetricsList()) {
        for (Metric metric : scope.getMetricsList()) {
          points +=
              switch (metric.getDataCase()) {
                case GAUGE -> metric.getGauge().getDataPointsCount();
                case SUM -> metric.getSum().getDataPointsCount();
                case HISTOGRAM -> metric.getHistogram().getDataPointsCount();
                case EXPONENTIAL_HISTOGRAM -> metric.getExponentialHistogram().getDataPointsCount();
                case SUMMARY -> metric.getSummary().getDataPointsCount();
                case DATA_NOT_SET -> 0;
              };
        }
      }
    }
    return points;
  }

  private static List<Observation> observations(ExportMetricsServiceRequest request)
      throws InvalidExport {
    if (request.getResourceMetricsCount() == 0 && !request.getUnknownFields().asMap().isEmpty()) {
      throw new InvalidExport(
          "not an OTLP ExportMetricsServiceRequest: it carries only fields OTLP does not define");
    }
    Reporter authenticated = PeerIdentities.REPORTER.get();
    String peer = String.valueOf(PeerIdentities.PEER_ADDRESS.get());
    List<Observation> observations = new ArrayList<>();
    for (ResourceMetrics resource : request.getResourceMetricsList()) {
      List<KeyValue> resourceAttributes = resource.getResource().getAttributesList();
      Reporter reporter =
          authenticated != null
              ? authenticated
              : new Reporter(
                  attribute(resourceAttributes, "service.name").orElse(Reporter.UNKNOWN),
                  attribute(resourceAttributes, "k8s.namespace.name").orElse(Reporter.UNKNOWN),
                  false);
      String version =
          attribute(resourceAttributes, "service.version").orElse(Destination.UNKNOWN_VERSION);
      String resourceKey =
          peer
              + '|'
              + reporter.namespace()
              + '/'
              + reporter.workload()
              + '|'
              + canonical(resourceAttributes);
      for (ScopeMetrics scope : resource.getScopeMetricsList()) {
        for (Metric metric : scope.getMetricsList()) {
          boolean clientSide = metric.getName().equals(CLIENT_ATTEMPT_DURATION);
          if (!clientSide && !metric.getName().equals(SERVER_CALL_DURATION)) {
            continue;
          }
          if (metric.getDataCase() != Metric.DataCase.HISTOGRAM) {
            throw new InvalidExport(
                "metric "
                    + metric.getName()
                    + " must be a histogram (as grpc-opentelemetry records it), not "
                    + metric.getDataCase());
          }
          double toMillis = toMillis(metric);
          boolean cumulative = cumulative(metric);
          for (HistogramDataPoint point : metric.getHistogram().getDataPointsList()) {
            checkBuckets(metric.getName(), point);
            List<KeyValue> attributes = point.getAttributesList();
            String pointKey = (clientSide ? "c|" : "s|") + canonical(attributes);
            int keyLength = resourceKey.length() + pointKey.length();
            if (keyLength > MAX_SERIES_KEY_CHARS) {
              throw new InvalidExport(
                  "metric "
                      + metric.getName()
                      + ": its resource and point attributes take "
                      + keyLength
                      + " characters; at most "
                      + MAX_SERIES_KEY_CHARS
                      + " are kept per series");
            }
            CallTarget target = null;
            if (clientSide) {
              target =
                  CallTarget.parse(
                      required(metric.getName(), attributes, "grpc.target"),
                      attribute(attributes, "grpc.lb.backend_service"));
            }
            observations.add(
                new Observation(
                    clientSide,
                    reporter,
                    version,
                    target,
                    grpcStatus(metric.getName(), attributes),
                    resourceKey,
                    pointKey,
                    cumulative,
                    new CumulativeDeltas.HistogramTotals(
                        point.getStartTimeUnixNano(), point.getCount(), bucketCounts(point)),
                    point.getExplicitBoundsList(),
                    toMillis));
          }
        }
      }
    }
    return observations;
  }

  private static double toMillis(Metric metric) throws InvalidExport {
    switch (metric.getUnit()) {
      case "s":
        return 1000;
      case "ms":
        return 1;
      default:
        throw new InvalidExport(
            "metric "
                + metric.getName()
                + " has unit '"
                + metric.getUnit()
                + "'; expected 's' (as grpc-opentelemetry reports it) or 'ms'");
    }
  }

  private static boolean cumulative(Metric metric) throws InvalidExport {
    AggregationTemporality temporality = metric.getHistogram().getAggregationTemporality();
    if (temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE) {
      return true;
    }
    if (temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA) {
      return false;
    }
    throw new InvalidExport(
        "metric " + metric.getName() + " has no aggregation temporality (cumulative or delta)");
  }

  private static void checkBuckets(String metric, HistogramDataPoint point) throws InvalidExport {
    int bounds = point.getExplicitBoundsCount();
    if (point.getBucketCountsCount() != bounds + 1) {
      throw new InvalidExport(
          "metric "
              + metric
              + ": a data point has "
              + point.getBucketCountsCount()
              + " bucket counts for "
              + bounds
              + " explicit bounds (must be bounds + 1; Weft needs the buckets for latency)");
    }
    double previous = Double.NEGATIVE_INFINITY;
    for (double bound : point.getExplicitBoundsList()) {
      if (!Double.isFinite(bound) || bound <= previous) {
        throw new InvalidExport(
            "metric " + metric + ": explicit bounds must be finite and increasing, got " + bound);
      }
      previous = bound;
    }
    long total = 0;
    for (long count : point.getBucketCountsList()) {
      if (count < 0) {
        throw new InvalidExport("metric " + metric + ": a bucket count is above 2^63");
      }
      total += count;
    }
    if (total != point.getCount()) {
      throw new InvalidExport(
          "metric "
              + metric
              + ": bucket counts add up to "
              + total
              + " but the data point's count is "
              + point.getCount());
    }
  }

  private static int grpcStatus(String metric, List<KeyValue> attributes) throws InvalidExport {
    String name = required(metric, attributes, "grpc.status");
    try {
      return Status.Code.valueOf(name).value();
    } catch (IllegalArgumentException notACode) {
      throw new InvalidExport(
          "metric " + metric + ": grpc.status '" + name + "' is not a gRPC status code name");
    }
  }

  private static String required(String metric, List<KeyValue> attributes, String key)
      throws InvalidExport {
    Optional<String> value = attribute(attributes, key);
    if (value.isEmpty()) {
      throw new InvalidExport(
          "metric " + metric + ": a data point has no " + key + " attribute (a string)");
    }
    return value.get();
  }

  private static Optional<String> attribute(List<KeyValue> attributes, String key) {
    for (KeyValue attribute : attributes) {
      if (attribute.getKey().equals(key)
          && attribute.getValue().getValueCase() == AnyValue.ValueCase.STRING_VALUE) {
        return Optional.of(attribute.getValue().getStringValue());
      }
    }
    return Optional.empty();
  }

  private static long[] bucketCounts(HistogramDataPoint point) {
    long[] counts = new long[point.getBucketCountsCount()];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = point.getBucketCounts(i);
    }
    return counts;
  }

  /**
   * The attributes in one order whatever the order they came in (the OpenTelemetry SDK sends them
   * sorted already, so most exports need no sorting).
   */
  private static String canonical(List<KeyValue> attributes) {
    List<KeyValue> sorted = attributes;
    for (int i = 1; i < attributes.size(); i++) {
      if (attributes.get(i - 1).getKey().compareTo(attributes.get(i).getKey()) > 0) {
        sorted = new ArrayList<>(attributes);
        sorted.sort(Comparator.comparing(KeyValue::getKey));
        break;
      }
    }
    StringBuilder text = new StringBuilder();
    for (KeyValue attribute : sorted) {
      text.append(attribute.getKey()).append('=').append(text(attribute.getValue())).append(';');
    }
    return text.toString();
  }

  private static String text(AnyValue value) {
    return value.getValueCase() == AnyValue.ValueCase.STRING_VALUE
        ? value.getStringValue()
        : TextFormat.printer().shortDebugString(value);
  }

  /**
   * Parses requests without throwing: grpc-java would answer a marshaller's exception with a
   * generic status, and a sender deserves to be told its bytes are not OTLP.
   */
  private static final class ExportMarshaller
      implements MethodDescriptor.Marshaller<ReceivedExport> {

    @Override
    public InputStream stream(ReceivedExport value) {
      return value.request().toByteString().newInput();
    }

    @Override
    public ReceivedExport parse(InputStream stream) {
      try (stream) {
        return new ReceivedExport(ExportMetricsServiceRequest.parseFrom(stream), null);
      } catch (InvalidProtocolBufferException invalid) {
        return new ReceivedExport(null, invalid.getMessage());
      } catch (IOException unreadable) {
        return new ReceivedExport(null, "unreadable: " + unreadable.getMessage());
      }
    }
  }
}
