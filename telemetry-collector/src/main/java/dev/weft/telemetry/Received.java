package dev.weft.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request message as it came off the wire: parsed, or the reason it did not parse.
 *
 * @param message the message, null when it did not parse
 * @param parseError why it did not parse, null when it did
 */
record Received<T extends Message>(T message, String parseError) {

  /**
   * A marshaller that parses without throwing: grpc-java would answer a marshaller's exception with
   * a generic status, and a sender deserves to be told which of its bytes are wrong.
   */
  static <T extends Message> MethodDescriptor.Marshaller<Received<T>> marshaller(Parser<T> parser) {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Received<T> value) {
        return value.message().toByteString().newInput();
      }

      @Override
      public Received<T> parse(InputStream stream) {
        try (stream) {
          return new Received<>(parser.parseFrom(stream), null);
        } catch (InvalidProtocolBufferException invalid) {
          return new Received<>(null, invalid.getMessage());
        } catch (IOException unreadable) {
          return new Received<>(null, "unreadable: " + unreadable.getMessage());
        }
      }
    };
  }
}
