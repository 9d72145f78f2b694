package dev.weft.telemetry;

import io.envoyproxy.envoy.service.accesslog.v3.AccessLogServiceGrpc;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.envoyproxy.envoy.service.metrics.v3.MetricsServiceGrpc;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsMessage;
import io.envoyproxy.envoy.service.metrics.v3.StreamMetricsResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Streams messages to the collector with the grpc-java stubs generated in Envoy's API jar, as an
 * Envoy proxy streams them, and waits for the collector's answer.
 */
final class EnvoyStreams {

  private EnvoyStreams() {}

  /** Sends {@code messages} on one Metrics Service stream, ends it, and returns how it ended. */
  static Status streamMetrics(Channel channel, List<StreamMetricsMessage> messages)
      throws Exception {
    Outcome<StreamMetricsResponse> outcome = new Outcome<>();
    StreamObserver<StreamMetricsMessage> requests =
        MetricsServiceGrpc.newStub(channel).streamMetrics(outcome);
    messages.forEach(requests::onNext);
    requests.onCompleted();
    return outcome.status.get(30, TimeUnit.SECONDS);
  }

  /** Sends {@code messages} on one Access Log Service stream, ends it, returns how it ended. */
  static Status streamAccessLogs(Channel channel, List<StreamAccessLogsMessage> messages)
      throws Exception {
    Outcome<StreamAccessLogsResponse> outcome = new Outcome<>();
    StreamObserver<StreamAccessLogsMessage> requests =
        AccessLogServiceGrpc.newStub(channel).streamAccessLogs(outcome);
    messages.forEach(requests::onNext);
    requests.onCompleted();
    return outcome.status.get(30, TimeUnit.SECONDS);
  }

  private static final class Outcome<R> implements StreamObserver<R> {
    final CompletableFuture<Status> status = new CompletableFuture<>();

    @Override
    public void onNext(R response) {}

    @Override
    public void onError(Throwable error) {
      status.complete(Status.fromThrowable(error));
    }

    @Override
    public void onCompleted() {
      status.complete(Status.OK);
    }
  }
}
