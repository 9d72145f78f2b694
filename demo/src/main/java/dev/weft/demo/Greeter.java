package dev.weft.demo;

import com.google.protobuf.StringValue;
import io.grpc.MethodDescriptor;
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

  private Greeter() {}

  /** The service of a backend named {@code backend}: it answers "hello NAME from BACKEND". */
  public static ServerServiceDefinition service(String backend) {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(
            SAY_HELLO,
            ServerCalls.asyncUnaryCall(
                (request, response) -> {
                  response.onNext(
                      StringValue.of("hello " + request.getValue() + " from " + backend));
                  response.onCompleted();
                }))
        .build();
  }

  /** Which backend answered, read back from a greeting. */
  public static String backendOf(StringValue greeting) {
    String text = greeting.getValue();
    int from = text.lastIndexOf(" from ");
    return from < 0 ? text : text.substring(from + " from ".length());
  }
}
