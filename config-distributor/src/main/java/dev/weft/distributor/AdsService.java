package dev.weft.distributor;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.SocketAddress;

/**
 * The ADS gRPC service: opens a state-of-the-world or a delta stream per call. Streams do the work;
 * this class only creates them. Stateless apart from the shared context.
 */
final class AdsService {

  private static final Context.Key<SocketAddress> PEER = Context.key("weft-peer");

  private final AdsContext context;

  AdsService(AdsContext context) {
    this.context = context;
  }

  /**
   * The service, with the interceptor that makes each call's peer address known to its stream.
   * State-of-the-world requests are read with {@link SotwRequest.Marshaller}, which leaves their
   * resource names undecoded until a stream needs them.
   */
  ServerServiceDefinition definition() {
    return ServerInterceptors.intercept(service(), new PeerInterceptor());
  }

  /**
   * The service for the mutual TLS port: only callers with a certificate of the mesh get in, and
   * each stream holds its proxy to the identity the certificate names.
   */
  ServerServiceDefinition authenticatedDefinition(String trustDomain) {
    return ServerInterceptors.intercept(
        service(), new AuthenticatedPeers(trustDomain), new PeerInterceptor());
  }

  private ServerServiceDefinition service() {
    MethodDescriptor<SotwRequest, DiscoveryResponse> sotw =
        AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().toBuilder(
                new SotwRequest.Marshaller(),
                ProtoUtils.marshaller(DiscoveryResponse.getDefaultInstance()))
            .build();
    ServerServiceDefinition service =
        ServerServiceDefinition.builder(AggregatedDiscoveryServiceGrpc.SERVICE_NAME)
            .addMethod(sotw, ServerCalls.asyncBidiStreamingCall(this::streamAggregatedResources))
            .addMethod(
                AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod(),
                ServerCalls.asyncBidiStreamingCall(this::deltaAggregatedResources))
            .build();
    return service;
  }

  /**
   * Streams ask for their requests themselves ({@link AdsStream#REQUESTS_IN_HAND} in hand at most):
   * gRPC's automatic flow control would read every request as it arrives and queue it on the
   * stream's executor, however slowly the stream handles them.
   */
  private StreamObserver<SotwRequest> streamAggregatedResources(
      StreamObserver<DiscoveryResponse> responses) {
    ServerCallStreamObserver<DiscoveryResponse> out =
        (ServerCallStreamObserver<DiscoveryResponse>) responses;
    out.disableAutoRequest();
    SotwStream stream = new SotwStream(context, out, peer(), AuthenticatedPeers.IDENTITY.get());
    stream.start();
    return stream;
  }

  private StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
      StreamObserver<DeltaDiscoveryResponse> responses) {
    ServerCallStreamObserver<DeltaDiscoveryResponse> out =
        (ServerCallStreamObserver<DeltaDiscoveryResponse>) responses;
    out.disableAutoRequest();
    DeltaStream stream = new DeltaStream(context, out, peer(), AuthenticatedPeers.IDENTITY.get());
    stream.start();
    return stream;
  }

  private static String peer() {
    SocketAddress address = PEER.get();
    return address == null ? "" : address.toString();
  }

  /** Puts the transport's remote address in the call's context. */
  private static final class PeerInterceptor implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      return Contexts.interceptCall(Context.current().withValue(PEER, remote), call, headers, next);
    }
  }
}
