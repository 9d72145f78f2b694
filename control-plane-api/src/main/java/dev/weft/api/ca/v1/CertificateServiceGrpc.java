package dev.weft.api.ca.v1;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/**
 * The gRPC binding of {@code weft.ca.v1.CertificateService}, written by hand in the shape of
 * protoc-gen-grpc-java's output: that plugin's binary cannot be fetched for this build, and one
 * unary method needs only a descriptor, a server definition and a client call.
 */
public final class CertificateServiceGrpc {

  public static final String SERVICE_NAME = "weft.ca.v1.CertificateService";

  private static final MethodDescriptor<CertificateRequest, CertificateResponse>
      CREATE_CERTIFICATE =
          MethodDescriptor.<CertificateRequest, CertificateResponse>newBuilder()
              .setType(MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(
                  MethodDescriptor.generateFullMethodName(SERVICE_NAME, "CreateCertificate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(ProtoUtils.marshaller(CertificateRequest.getDefaultInstance()))
              .setResponseMarshaller(
                  ProtoUtils.marshaller(CertificateResponse.getDefaultInstance()))
              .build();

  private static final ServiceDescriptor SERVICE =
      ServiceDescriptor.newBuilder(SERVICE_NAME).addMethod(CREATE_CERTIFICATE).build();

  private CertificateServiceGrpc() {}

  public static MethodDescriptor<CertificateRequest, CertificateResponse>
      getCreateCertificateMethod() {
    return CREATE_CERTIFICATE;
  }

  public static ServiceDescriptor getServiceDescriptor() {
    return SERVICE;
  }

  /** The server side: what a service implements. */
  public interface AsyncService {
    void createCertificate(
        CertificateRequest request, StreamObserver<CertificateResponse> responseObserver);
  }

  /** Binds {@code service} to the method descriptors, for {@code ServerBuilder.addService}. */
  public static ServerServiceDefinition bindService(AsyncService service) {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(CREATE_CERTIFICATE, ServerCalls.asyncUnaryCall(service::createCertificate))
        .build();
  }
}
