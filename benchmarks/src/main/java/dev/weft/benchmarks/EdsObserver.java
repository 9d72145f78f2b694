package dev.weft.benchmarks;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.weft.distributor.ResourceType;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A raw ADS subscriber to one load assignment, beside the real grpc-xds client: it timestamps each
 * ClusterLoadAssignment as it arrives, so that a change's time splits into the control plane's part
 * (edit to config on the wire) and the client's (config on the wire to calls changing).
 *
 * <p>Thread-safe: responses arrive on gRPC's threads, the harness waits on its own.
 */
final class EdsObserver implements AutoCloseable {

  /** One load assignment as received: when, and each endpoint's health by "ip:port". */
  record Received(long nanos, Map<String, HealthStatus> endpoints) {}

  private final ManagedChannel channel;
  private final List<Received> received = new ArrayList<>();
  private ClientCallStreamObserver<DiscoveryRequest> requests;
  private volatile boolean closed;

  EdsObserver(int xdsPort, String clusterName) {
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", xdsPort).usePlaintext().build();
    Node node =
        Node.newBuilder()
            .setId("eds-observer-0.demo")
            .setMetadata(
                Struct.newBuilder()
                    .putFields("NAMESPACE", Value.newBuilder().setStringValue("demo").build())
                    .putFields(
                        "SERVICE_ACCOUNT", Value.newBuilder().setStringValue("observer").build()))
            .build();
    String typeUrl = ResourceType.ENDPOINT.typeUrl();
    var stream =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .withWaitForReady()
            .streamAggregatedResources(new Responses(clusterName));
    stream.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(typeUrl)
            .addResourceNames(clusterName)
            .build());
  }

  /**
   * When the first load assignment received after {@code afterNanos} that satisfies {@code
   * expected} arrived, or -1 if none did within {@code timeoutNanos}.
   */
  synchronized long awaitReceived(
      long afterNanos, Predicate<Map<String, HealthStatus>> expected, long timeoutNanos)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    while (true) {
      for (Received r : received) {
        if (r.nanos() >= afterNanos && expected.test(r.endpoints())) {
          return r.nanos();
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return -1;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  private synchronized void add(Received r) {
    received.add(r);
    notifyAll();
  }

  private final class Responses
      implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    private final String clusterName;

    Responses(String clusterName) {
      this.clusterName = clusterName;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      requests = requestStream;
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      long now = System.nanoTime();
      Map<String, HealthStatus> endpoints = new HashMap<>();
      for (Any resource : response.getResourcesList()) {
        try {
          ClusterLoadAssignment assignment = resource.unpack(ClusterLoadAssignment.class);
          for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
            for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
              SocketAddress address = endpoint.getEndpoint().getAddress().getSocketAddress();
              endpoints.put(
                  address.getAddress() + ":" + address.getPortValue(), endpoint.getHealthStatus());
            }
          }
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("a malformed ClusterLoadAssignment", e);
        }
      }
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setTypeUrl(response.getTypeUrl())
              .setVersionInfo(response.getVersionInfo())
              .setResponseNonce(response.getNonce())
              .addResourceNames(clusterName)
              .build());
      add(new Received(now, Map.copyOf(endpoints)));
    }

    @Override
    public void onError(Throwable error) {
      if (closed) {
        return;
      }
      System.err.println("the EDS observer's stream ended: " + error);
    }

    @Override
    public void onCompleted() {}
  }

  @Override
  public void close() throws InterruptedException {
    closed = true;
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
