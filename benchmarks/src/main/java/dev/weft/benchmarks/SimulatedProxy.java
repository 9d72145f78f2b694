package dev.weft.benchmarks;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.WireFormat;
import dev.weft.distributor.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * One simulated proxy: its own connection, one ADS stream (state of the world or delta), named
 * subscriptions to the listener, route, cluster and load assignment of each of its Services, and an
 * ACK for every response. It reports the changes each acknowledged response contains, and whether
 * it holds every resource it asked for ("fully configured").
 *
 * <p>Thread-safety: gRPC delivers one stream's responses one at a time and the ACK is sent from
 * that callback, so a stream's state needs no lock; {@link #configured} is volatile, and {@link
 * #connect} is called only while no stream is open.
 */
final class SimulatedProxy {

  /**
   * What a proxyless gRPC client subscribes to: every type but Secrets, which only Gateways get.
   */
  private static final List<ResourceType> SUBSCRIBED =
      List.of(
          ResourceType.CLUSTER, ResourceType.ENDPOINT, ResourceType.LISTENER, ResourceType.ROUTE);

  /** The ADS variant a proxy speaks. */
  enum Protocol {
    SOTW,
    DELTA
  }

  /** Where a proxy reports what it received. */
  record Counters(
      ConvergenceTracker endpointChanges,
      ConvergenceTracker routeChanges,
      LongAdder bytes,
      LongAdder responses,
      LongAdder errors) {}

  private final int[] services;
  private final List<String> names;

  /** The names, encoded once: every SotW ACK repeats them. */
  private final List<ByteString> encodedNames;

  private final Protocol protocol;
  private final Counters counters;
  private final String serviceAccount;
  private final Node node;
  private final Map<String, Integer> slotByName = new HashMap<>();

  private final Map<ResourceType, Set<String>> missing = new EnumMap<>(ResourceType.class);
  private final int[] credited;
  private int routeCredited = -1;
  private volatile boolean configured;
  private volatile ClientCallStreamObserver<?> stream;

  /**
   * @param serviceAccount the service account its node claims, in namespace {@link
   *     BenchMesh#NAMESPACE}, as a sidecar's does; over mutual TLS, the one its certificate names
   */
  SimulatedProxy(
      int id, int[] services, Protocol protocol, Counters counters, String serviceAccount) {
    this.services = services.clone();
    this.names = Arrays.stream(services).mapToObj(BenchMesh::resourceName).toList();
    this.encodedNames = names.stream().map(ByteString::copyFromUtf8).toList();
    this.protocol = protocol;
    this.counters = counters;
    this.serviceAccount = serviceAccount;
    this.credited = new int[services.length];
    Arrays.fill(credited, -1);
    for (int i = 0; i < services.length; i++) {
      slotByName.put(names.get(i), i);
    }
    this.node =
        Node.newBuilder()
            .setId("proxy-" + id + ".bench")
            .setMetadata(
                Struct.newBuilder()
                    .putFields(
                        "NAMESPACE", Value.newBuilder().setStringValue(BenchMesh.NAMESPACE).build())
                    .putFields(
                        "SERVICE_ACCOUNT",
                        Value.newBuilder().setStringValue(serviceAccount).build()))
            .build();
  }

  String serviceAccount() {
    return serviceAccount;
  }

  boolean configured() {
    return configured;
  }

  int[] services() {
    return services.clone();
  }

  /** Opens a stream on {@code channel} and subscribes, as a proxy that holds nothing yet. */
  void connect(ManagedChannel channel) {
    configured = false;
    for (ResourceType type : SUBSCRIBED) {
      missing.put(type, new HashSet<>(names));
    }
    // Like a real proxy, keep trying to reach the control plane rather than give up: when
    // thousands connect at once, the kernel's accept backlog drops some first attempts.
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel).withWaitForReady();
    if (protocol == Protocol.SOTW) {
      var requests = stub.streamAggregatedResources(new Sotw());
      for (ResourceType type : SUBSCRIBED) {
        requests.onNext(
            DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(type.typeUrl())
                .addAllResourceNames(names)
                .build());
      }
    } else {
      var requests = stub.deltaAggregatedResources(new Delta());
      for (ResourceType type : SUBSCRIBED) {
        requests.onNext(
            DeltaDiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(type.typeUrl())
                .addAllResourceNamesSubscribe(names)
                .build());
      }
    }
  }

  /** Ends the stream, as a proxy that goes away. */
  void disconnect() {
    ClientCallStreamObserver<?> current = stream;
    stream = null;
    if (current != null) {
      current.cancel("disconnect", null);
    }
  }

  /** A stream that ends without a disconnect is an error: the control plane dropped it. */
  private void failed() {
    if (stream != null) {
      counters.errors().increment();
    }
  }

  /** State of the world: every response ACKed with its version and nonce. */
  private final class Sotw implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    private ClientCallStreamObserver<DiscoveryRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      requests = requestStream;
      stream = requestStream;
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      counters.bytes().add(response.getSerializedSize());
      counters.responses().increment();
      ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow();
      Received received = new Received();
      for (Any resource : response.getResourcesList()) {
        inspect(type, resource, received);
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
      stream = requestStream;
    }

    @Override
    public void onNext(DeltaDiscoveryResponse response) {
      counters.bytes().add(response.getSerializedSize());
      counters.responses().increment();
      ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow();
      Received received = new Received();
      for (Resource resource : response.getResourcesList()) {
        inspect(type, resource.getResource(), received);
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

  /** The changes one response carries, credited once its ACK is sent. */
  private final class Received {
    private final Map<Integer, Integer> newestBySlot = new HashMap<>();
    private int routeState = -1;

    void acknowledged(long nanos) {
      for (Map.Entry<Integer, Integer> entry : newestBySlot.entrySet()) {
        int slot = entry.getKey();
        if (entry.getValue() > credited[slot]) {
          credited[slot] =
              counters
                  .endpointChanges()
                  .acknowledgedUpTo(services[slot], credited[slot], entry.getValue(), nanos);
        }
      }
      int latest = counters.routeChanges().latest();
      if (routeState >= 0 && latest > routeCredited && routeState == latest % 2) {
        routeCredited = counters.routeChanges().acknowledgedUpTo(0, routeCredited, latest, nanos);
      }
    }
  }

  /**
   * Which route change svc-0's routes reflect, modulo 2: 1 when svc-1's canary weight is that of
   * odd changes, else 0 (also before the first change, when there is no canary at all).
   */
  private static int routeState(RouteConfiguration route) {
    for (VirtualHost host : route.getVirtualHostsList()) {
      for (Route entry : host.getRoutesList()) {
        for (WeightedCluster.ClusterWeight cluster :
            entry.getRoute().getWeightedClusters().getClustersList()) {
          if (BenchMesh.serviceIndex(cluster.getName()) == 1) {
            return cluster.getWeight().getValue() == BenchMesh.canaryWeight(1) ? 1 : 0;
          }
        }
      }
    }
    return 0;
  }

  /**
   * The name of a Listener, Cluster or RouteConfiguration: field 1 of each. Read without parsing
   * the rest, because a real proxy's parsing cost is not what this harness measures, and the
   * harness shares the machine's cores with the control plane under test.
   */
  private static String nameOf(ByteString message) throws InvalidProtocolBufferException {
    try {
      CodedInputStream in = message.newCodedInput();
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (WireFormat.getTagFieldNumber(tag) == 1) {
          return in.readStringRequireUtf8();
        }
        in.skipField(tag);
      }
      return "";
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (java.io.IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  private void inspect(ResourceType type, Any body, Received received) {
    try {
      String name =
          switch (type) {
            case ENDPOINT -> {
              ClusterLoadAssignment assignment = body.unpack(ClusterLoadAssignment.class);
              long newest = -1;
              for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
                for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
                  String address =
                      endpoint.getEndpoint().getAddress().getSocketAddress().getAddress();
                  newest = Math.max(newest, BenchMesh.changeOf(address));
                }
              }
              Integer slot = slotByName.get(assignment.getClusterName());
              if (newest >= 0 && slot != null) {
                received.newestBySlot.merge(slot, (int) newest, Math::max);
              }
              yield assignment.getClusterName();
            }
            case CLUSTER, LISTENER, SECRET -> nameOf(body.getValue());
            case ROUTE -> {
              String routeName = nameOf(body.getValue());
              if (BenchMesh.serviceIndex(routeName) == 0) {
                received.routeState = routeState(body.unpack(RouteConfiguration.class));
              }
              yield routeName;
            }
          };
      Set<String> waiting = missing.get(type);
      if (waiting != null && waiting.remove(name) && waiting.isEmpty()) {
        configured = missing.values().stream().allMatch(Set::isEmpty);
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a simulated proxy received a malformed resource", e);
    }
  }
}
