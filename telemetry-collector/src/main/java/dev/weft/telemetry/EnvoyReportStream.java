package dev.weft.telemetry;

import com.google.protobuf.Message;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * One client stream of an Envoy report service (Metrics Service, Access Log Service): the first
 * message identifies the proxy (Envoy sends its node only then), each message is checked whole
 * before anything of it is counted, and the first bad one ends the stream with a status that says
 * what was wrong. Messages that came before it stay counted. Not thread-safe: gRPC delivers one
 * call's messages one at a time.
 *
 * @param <T> the request message
 * @param <R> the response, sent once when the proxy ends the stream
 */
abstract class EnvoyReportStream<T extends Message, R> implements StreamObserver<Received<T>> {

  /** Too much in one message; the message says how much is allowed. */
  static final class TooLarge extends Exception {
    private static final long serialVersionUID = 1L;

    TooLarge(String message) {
      super(message, null, false, false);
    }
  }

  private final StreamObserver<R> responses;
  private final String messageName;
  private final Reporter authenticated = PeerIdentities.REPORTER.get();
  private final String peer = String.valueOf(PeerIdentities.PEER_ADDRESS.get());
  private EnvoyProxy proxy;
  private boolean closed;

  EnvoyReportStream(StreamObserver<R> responses, String messageName) {
    this.responses = responses;
    this.messageName = messageName;
  }

  @Override
  public final void onNext(Received<T> received) {
    if (closed) {
      return;
    }
    if (received.parseError() != null) {
      refuse(
          Status.INVALID_ARGUMENT.withDescription(
              "not an Envoy " + messageName + ": " + received.parseError()));
      return;
    }
    try {
      if (proxy == null) {
        proxy = identify(received.message(), authenticated);
      }
      accept(proxy, peer, received.message());
    } catch (InvalidReport invalid) {
      refuse(Status.INVALID_ARGUMENT.withDescription(messageName + ": " + invalid.getMessage()));
    } catch (TooLarge tooLarge) {
      refuse(Status.RESOURCE_EXHAUSTED.withDescription(messageName + ": " + tooLarge.getMessage()));
    }
  }

  @Override
  public final void onError(Throwable cancelled) {
    closed = true;
  }

  @Override
  public final void onCompleted() {
    if (!closed) {
      closed = true;
      responses.onNext(response());
      responses.onCompleted();
    }
  }

  /** Reads the proxy from the stream's first message, or refuses it. */
  abstract EnvoyProxy identify(T first, Reporter authenticated) throws InvalidReport;

  /** Checks a message whole, then counts it. */
  abstract void accept(EnvoyProxy proxy, String peer, T message) throws InvalidReport, TooLarge;

  abstract R response();

  /** Counts the refusal (by its code) before the stream ends. */
  abstract void refused(Status.Code code);

  private void refuse(Status status) {
    closed = true;
    refused(status.getCode());
    responses.onError(status.asRuntimeException());
  }
}
