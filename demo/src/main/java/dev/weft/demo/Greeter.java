package dev.weft.demo;

import com.google.protobuf.StringValue;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;

/**
 * A greeter service defined without generated code: {@code weft.demo.Greeter/SayHello} takes a name
 * and answers with a greeting that says which backend answered, so a client can count.
 */
public final class Greeter {

  public static final String SERVICE = "weft.demo.Greeter";

  public static final MethodDescriptor<StringValue, StringValue> SAY_HELLO =
      MethodDescriptor.<StringValue, StringValue>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SayHello"))
          .setRequestMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
          .build();

  /** A second method, so that routes can tell methods apart: "goodbye NAME from BACKEND". */
  public static final MethodDescriptor<StringValue, StringValue> SAY_GOODBYE =
      SAY_HELLO.toBuilder()
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SayGoodbye"))
          .build();

  private Greeter() {}

  /**
   * The service of a backend named {@code backend}: it answers "hello NAME from BACKEND" (and
   * "goodbye ...").
   */
  public static ServerServiceDefinition service(String backend) {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(SAY_HELLO, answer("hello", backend))
        .addMethod(SAY_GOODBYE, answer("goodbye", backend))
        .build();
  }

  private static ServerCallHandler<StringValue, StringValue> answer(
      String greeting, String backend) {
    return ServerCalls.asyncUnaryCall(
        (request, response) -> {
          response.onNext(StringValue.of(greeting + " " + request.getValue() + " from " + backend));
          response.onCompleted();
        });
  }

  /** Which backend answered, read back from a greeting. */
  public static String backendOf(StringValue greeting) {
    String text = greeting.getValue();
    int from = text.lastIndexOf(" from ");
    return from < 0 ? text : text.substring(from + " from ".length());
  }
}
