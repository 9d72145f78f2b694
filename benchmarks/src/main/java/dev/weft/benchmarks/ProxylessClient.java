package dev.weft.benchmarks;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.distributor.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A proxyless gRPC client, as the harness simulates it: named subscriptions to the listener, route,
 * cluster and load assignment of each of its Services, all sent at once when it connects, and an
 * ACK for every response.
 *
 * <p>Thread-safety: see {@link SimulatedProxy}.
 */
final class ProxylessClient extends SimulatedProxy {

  /** The names, encoded once: every SotW ACK repeats them. */
  private final List<ByteString> encodedNames;

  /**
   * @param serviceAccount the service account its node claims, in namespace {@link
   *     BenchMesh#NAMESPACE}, as a sidecar's does; over mutual TLS, the one its certificate names
   */
  ProxylessClient(
      int id, int[] services, Protocol protocol, Counters counters, String serviceAccount) {
    super(services, protocol, counters, serviceAccount, node(id, serviceAccount));
    this.encodedNames = names.stream().map(ByteString::copyFromUtf8).toList();
  }

  private static Node node(int id, String serviceAccount) {
    return Node.newBuilder()
        .setId("proxy-" + id + ".bench")
        .setMetadata(
            Struct.newBuilder()
                .putFields(
                    "NAMESPACE", Value.newBuilder().setStringValue(BenchMesh.NAMESPACE).build())
                .putFields(
                    "SERVICE_ACCOUNT", Value.newBuilder().setStringValue(serviceAccount).build()))
        .build();
  }

  @Override
  void connect(ManagedChannel channel) {
    Map<ResourceType, Set<String>> expected = new EnumMap<>(ResourceType.class);
    for (ResourceType type : ResourceType.PROXYLESS) {
      expected.put(type, Set.copyOf(names));
    }
    expect(expected);
    // Like a real proxy, keep trying to reach the control plane rather than give up: when
    // thousands connect at once, the kernel's accept backlog drops some first attempts.
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel).withWaitForReady();
    if (protocol == Protocol.SOTW) {
      var requests = stub.streamAggregatedResources(new Sotw());
      for (ResourceType type : ResourceType.PROXYLESS) {
        requests.onNext(
            DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(type.typeUrl())
                .addAllResourceNames(names)
                .build());
      }
    } else {
      var requests = stub.deltaAggregatedResources(new Delta());
      for (ResourceType type : ResourceType.PROXYLESS) {
        requests.onNext(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(type.typeUrl())
                .addAllResourceNamesSubscribe(names)
                .build());
      }
    }
  }

  /** State of the world: every response ACKed with its version and nonce. */
  private final class Sotw implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    private ClientCallStreamObserver<DiscoveryRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      requests = requestStream;
      opened(requestStream);
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      received(response.getSerializedSize());
      ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow();
      Received received = new Received();
      for (Any resource : response.getResourcesList()) {
        take(type, resource, received);
      }
      DiscoveryRequest.Builder ack =
          DiscoveryRequest.newBuilder()
              .setTypeUrlBytes(response.getTypeUrlBytes())
              .setVersionInfoBytes(response.getVersionInfoBytes())
              .setResponseNonceBytes(response.getNonceBytes());
      for (ByteString name : encodedNames) {
        ack.addResourceNamesBytes(name);
      }
      requests.onNext(ack.build());
      received.acknowledged(System.nanoTime());
    }

    @Override
    public void onError(Throwable error) {
      failed();
    }

    @Override
    public void onCompleted() {}
  }

  /** Delta: every response ACKed with its nonce. */
  private final class Delta
      implements ClientResponseObserver<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
    private ClientCallStreamObserver<DeltaDiscoveryRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<DeltaDiscoveryRequest> requestStream) {
      requests = requestStream;
      opened(requestStream);
    }

    @Override
    public void onNext(DeltaDiscoveryResponse response) {
      received(response.getSerializedSize());
      ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow();
      Received received = new Received();
      for (Resource resource : response.getResourcesList()) {
        take(type, resource.getResource(), received);
      }
      requests.onNext(
          DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(response.getTypeUrl())
              .setResponseNonce(response.getNonce())
              .build());
      received.acknowledged(System.nanoTime());
    }

    @Override
    public void onError(Throwable error) {
      failed();
    }

    @Override
    public void onCompleted() {}
  }

  /** Weft's resources always parse: one that does not is the harness's failure. */
  private void take(ResourceType type, Any resource, Received received) {
    try {
      inspect(type, resource, received);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a simulated proxy received a malformed resource", e);
    }
  }
}
