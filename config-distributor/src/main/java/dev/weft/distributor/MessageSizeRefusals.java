package dev.weft.distributor;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.net.SocketAddress;

/**
 * Counts the streams gRPC ended because a message exceeded the server's maximum message size: gRPC
 * refuses those before any message reaches a stream, so only the stream's tracer sees why it
 * closed. Recognized by gRPC's status description ("gRPC message exceeds maximum size N: M"), which
 * the tests check.
 */
final class MessageSizeRefusals extends ServerStreamTracer.Factory {
  private final XdsMetrics metrics;

  MessageSizeRefusals(XdsMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    return new ServerStreamTracer() {
      private volatile SocketAddress peer;

      @Override
      public void serverCallStarted(ServerCallInfo<?, ?> callInfo) {
        peer = callInfo.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      }

      @Override
      public void streamClosed(Status status) {
        if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED
            && status.getDescription() != null
            && status.getDescription().contains("exceeds maximum size")) {
          metrics.refused(
              XdsMetrics.Refusal.MESSAGE_SIZE,
              "refused a "
                  + fullMethodName
                  + " stream from "
                  + (peer == null ? "an unknown address" : peer)
                  + ": "
                  + status.getDescription());
        }
      }
    };
  }
}
