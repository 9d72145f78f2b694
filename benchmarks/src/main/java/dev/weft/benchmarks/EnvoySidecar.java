package dev.weft.benchmarks;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.ResourceType;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An Envoy sidecar, as the harness simulates it: the sidecar of a Pod of the bench mesh, whose node
 * is the one Weft's Envoy bootstrap gives it ({@code PROXY_TYPE} sidecar, its namespace, Pod name
 * and IP, labels, and its egress hosts when its workload declares them). It asks as Envoy does:
 * Clusters by wildcard, then the load assignments of the EDS clusters it got; once those arrive,
 * Listeners by wildcard, then the route configurations their HTTP connection managers name by RDS;
 * and it follows what it learns, subscribing to new names and dropping old ones, as Clusters and
 * Listeners change. Every response it can take is ACKed; one it cannot (a resource that does not
 * parse, a cluster or route without a name) is NACKed with the reason, keeping the last version it
 * accepted, and counted.
 *
 * <p>Only the fields that say what to ask for next are read, from the wire, without parsing the
 * rest (a real Envoy parses everything, but the harness shares the machine's cores with the control
 * plane it measures).
 *
 * <p>Thread-safety: see {@link SimulatedProxy}.
 */
final class EnvoySidecar extends SimulatedProxy {

  static final String OUTBOUND_LISTENER = "weft/outbound";
  static final String INBOUND_LISTENER = "weft/inbound";
  static final String PASSTHROUGH_CLUSTER = "weft/passthrough";

  private static final String HTTP_CONNECTION_MANAGER =
      "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();

  /** What the proxy expects to hold once configured, per type. */
  private final Map<ResourceType, Set<String>> expected = new EnumMap<>(ResourceType.class);

  // Per stream: reset by connect, then touched only by the stream's callbacks.
  private final Map<String, String> edsNameByCluster = new HashMap<>();
  private final Map<String, Set<String>> routesByListener = new HashMap<>();
  private final Map<ResourceType, Set<String>> subscribed = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, String> acceptedVersion = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, String> lastNonce = new EnumMap<>(ResourceType.class);
  private boolean listenersAsked;
  private Requests requests;
  private volatile int clusters;

  /**
   * @param pod the Pod it is the sidecar of
   * @param view the Services it sees: every one, or those its workload declares
   * @param scoped whether its workload declares them (its node's {@code EGRESS}), or sees the whole
   *     mesh without saying so
   */
  EnvoySidecar(
      BenchMesh.Pod pod,
      int[] view,
      boolean scoped,
      Protocol protocol,
      Counters counters,
      String serviceAccount) {
    super(view, protocol, counters, serviceAccount, node(pod, view, scoped, serviceAccount));
    Set<String> names = new HashSet<>(this.names);
    expected.put(ResourceType.ENDPOINT, Set.copyOf(names));
    expected.put(ResourceType.ROUTE, Set.copyOf(names));
    // Every sidecar is a Pod of a Service: it gets the inbound Listener and cluster of its port.
    expected.put(ResourceType.LISTENER, Set.of(OUTBOUND_LISTENER, INBOUND_LISTENER));
    names.add(PASSTHROUGH_CLUSTER);
    names.add("inbound|" + BenchMesh.PORT);
    expected.put(ResourceType.CLUSTER, Set.copyOf(names));
  }

  /** The node Weft's Envoy bootstrap writes for the Pod, with the user agent Envoy adds. */
  private static io.envoyproxy.envoy.config.core.v3.Node node(
      BenchMesh.Pod pod, int[] view, boolean scoped, String serviceAccount) {
    List<EgressHosts.Host> egress = new ArrayList<>();
    if (scoped) {
      for (int service : view) {
        egress.add(new EgressHosts.Host(BenchMesh.NAMESPACE, BenchMesh.serviceName(service)));
      }
    }
    return EnvoyBootstrap.of(
            new EnvoyBootstrap.Proxy(
                EnvoyBootstrap.ProxyType.SIDECAR,
                new Bootstrap.Workload(BenchMesh.NAMESPACE, serviceAccount, pod.name(), pod.zone()),
                pod.address(),
                pod.labels(),
                egress),
            new EnvoyBootstrap.ControlPlane("localhost", 15010, Optional.empty(), true))
        .getNode()
        .toBuilder()
        .setUserAgentName("envoy")
        .build();
  }

  /** How many clusters it holds: those of its view, the passthrough and its inbound one. */
  int clusters() {
    return clusters;
  }

  @Override
  void connect(ManagedChannel channel) {
    expect(expected);
    edsNameByCluster.clear();
    routesByListener.clear();
    subscribed.clear();
    acceptedVersion.clear();
    lastNonce.clear();
    listenersAsked = false;
    clusters = 0;
    var stub = AggregatedDiscoveryServiceGrpc.newStub(channel).withWaitForReady();
    requests =
        protocol == Protocol.SOTW
            ? new SotwRequests(stub.streamAggregatedResources(new SotwResponses()))
            : new DeltaRequests(stub.deltaAggregatedResources(new DeltaResponses()));
    requests.wildcard(ResourceType.CLUSTER, true);
  }

  /** What the proxy sends, in its protocol. */
  private interface Requests {
    /** Subscribes to every resource of a type; the first request of the stream carries the node. */
    void wildcard(ResourceType type, boolean first);

    /** Subscribes to {@code now} instead of {@code before}. */
    void resubscribe(ResourceType type, Set<String> before, Set<String> now);

    void ack(ResourceType type, String version, String nonce);

    void nack(ResourceType type, String nonce, String reason);
  }

  /**
   * Takes a response's resources (all of the type's, or changes and {@code removed}); ACKs it, or
   * NACKs it when a resource cannot be taken. Then asks for what it names, as Envoy does.
   */
  private void take(
      ResourceType type,
      List<Any> resources,
      List<String> removed,
      boolean whole,
      String version,
      String nonce) {
    lastNonce.put(type, nonce);
    Received received = new Received();
    Map<String, String> clustersTaken = new HashMap<>();
    Map<String, Set<String>> listenersTaken = new HashMap<>();
    try {
      for (Any resource : resources) {
        String name = inspect(type, resource, received);
        if (name.isEmpty()) {
          throw new InvalidProtocolBufferException("a " + type.name() + " resource without a name");
        }
        if (type == ResourceType.CLUSTER) {
          clustersTaken.put(name, edsName(name, resource.getValue()));
        } else if (type == ResourceType.LISTENER) {
          listenersTaken.put(name, routeNames(resource.getValue()));
        }
      }
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      counters.nacks().increment();
      requests.nack(type, nonce, e.getMessage());
      return;
    }
    if (type == ResourceType.CLUSTER) {
      apply(edsNameByCluster, clustersTaken, removed, whole);
      clusters = edsNameByCluster.size();
      Set<String> edsNames = new TreeSet<>(edsNameByCluster.values());
      edsNames.remove("");
      follow(ResourceType.ENDPOINT, edsNames);
    } else if (type == ResourceType.LISTENER) {
      apply(routesByListener, listenersTaken, removed, whole);
      Set<String> routeNames = new TreeSet<>();
      routesByListener.values().forEach(routeNames::addAll);
      follow(ResourceType.ROUTE, routeNames);
    }
    acceptedVersion.put(type, version);
    requests.ack(type, version, nonce);
    received.acknowledged(System.nanoTime());
    // Envoy starts on Listeners once its clusters are warm: when their endpoints arrived.
    boolean clustersWarm =
        type == ResourceType.ENDPOINT
            || (type == ResourceType.CLUSTER && subscribed(ResourceType.ENDPOINT).isEmpty());
    if (!listenersAsked && clustersWarm) {
      listenersAsked = true;
      requests.wildcard(ResourceType.LISTENER, false);
    }
  }

  private static <T> void apply(
      Map<String, T> held, Map<String, T> taken, List<String> removed, boolean whole) {
    if (whole) {
      held.clear();
    }
    removed.forEach(held::remove);
    held.putAll(taken);
  }

  /** Subscribes to {@code names} of a type, if that changes what it subscribes to. */
  private void follow(ResourceType type, Set<String> names) {
    Set<String> before = subscribed(type);
    if (!before.equals(names)) {
      subscribed.put(type, names);
      requests.resubscribe(type, before, names);
    }
  }

  private Set<String> subscribed(ResourceType type) {
    return subscribed.getOrDefault(type, Set.of());
  }

  /**
   * The name of a cluster's load assignment when it is an EDS cluster (its EDS service name, or its
   * own), else empty. (Weft's EDS clusters always carry their EDS config.)
   */
  private static String edsName(String cluster, ByteString body)
      throws InvalidProtocolBufferException {
    List<ByteString> eds = fields(body, Cluster.EDS_CLUSTER_CONFIG_FIELD_NUMBER);
    if (eds.isEmpty()) {
      return "";
    }
    String serviceName = string(eds.get(0), Cluster.EdsClusterConfig.SERVICE_NAME_FIELD_NUMBER);
    return serviceName.isEmpty() ? cluster : serviceName;
  }

  /** The route configurations a Listener's HTTP connection managers name by RDS. */
  private static Set<String> routeNames(ByteString listener) throws InvalidProtocolBufferException {
    List<ByteString> chains =
        new ArrayList<>(fields(listener, Listener.FILTER_CHAINS_FIELD_NUMBER));
    chains.addAll(fields(listener, Listener.DEFAULT_FILTER_CHAIN_FIELD_NUMBER));
    Set<String> routes = new HashSet<>();
    for (ByteString chain : chains) {
      for (ByteString filter : fields(chain, FilterChain.FILTERS_FIELD_NUMBER)) {
        for (ByteString typed : fields(filter, Filter.TYPED_CONFIG_FIELD_NUMBER)) {
          if (!string(typed, Any.TYPE_URL_FIELD_NUMBER).equals(HTTP_CONNECTION_MANAGER)) {
            continue;
          }
          for (ByteString manager : fields(typed, Any.VALUE_FIELD_NUMBER)) {
            for (ByteString rds : fields(manager, HttpConnectionManager.RDS_FIELD_NUMBER)) {
              String route = string(rds, Rds.ROUTE_CONFIG_NAME_FIELD_NUMBER);
              if (route.isEmpty()) {
                throw new InvalidProtocolBufferException(
                    "an HTTP connection manager's RDS names no route configuration");
              }
              routes.add(route);
            }
          }
        }
      }
    }
    return routes;
  }

  /** A NACK's error detail, as Envoy writes it: INVALID_ARGUMENT and why. */
  private static com.google.rpc.Status rejection(String reason) {
    return com.google.rpc.Status.newBuilder()
        .setCode(io.grpc.Status.Code.INVALID_ARGUMENT.value())
        .setMessage(reason)
        .build();
  }

  /** State of the world: every request of a type repeats its names; ACKs carry the version. */
  private final class SotwRequests implements Requests {
    private final io.grpc.stub.StreamObserver<DiscoveryRequest> stream;

    SotwRequests(io.grpc.stub.StreamObserver<DiscoveryRequest> stream) {
      this.stream = stream;
    }

    @Override
    public void wildcard(ResourceType type, boolean first) {
      DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder().setTypeUrl(type.typeUrl());
      if (first) {
        request.setNode(node);
      }
      stream.onNext(request.build());
    }

    @Override
    public void resubscribe(ResourceType type, Set<String> before, Set<String> now) {
      stream.onNext(request(type).build());
    }

    @Override
    public void ack(ResourceType type, String version, String nonce) {
      stream.onNext(request(type).build());
    }

    @Override
    public void nack(ResourceType type, String nonce, String reason) {
      stream.onNext(request(type).setErrorDetail(rejection(reason)).build());
    }

    /**
     * A request of the type: the version last accepted, the nonce last received (without it, Weft
     * would take a change of names as a stale request), and the names, none for a wildcard.
     */
    private DiscoveryRequest.Builder request(ResourceType type) {
      return DiscoveryRequest.newBuilder()
          .setTypeUrl(type.typeUrl())
          .setVersionInfo(acceptedVersion.getOrDefault(type, ""))
          .setResponseNonce(lastNonce.getOrDefault(type, ""))
          .addAllResourceNames(subscribed(type));
    }
  }

  private final class SotwResponses
      implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      opened(requestStream);
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      received(response.getSerializedSize());
      ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow();
      // Listeners and clusters come whole; routes and endpoints as they change.
      boolean whole = type == ResourceType.LISTENER || type == ResourceType.CLUSTER;
      take(
          type,
          response.getResourcesList(),
          List.of(),
          whole,
          response.getVersionInfo(),
          response.getNonce());
    }

    @Override
    public void onError(Throwable error) {
      failed();
    }

    @Override
    public void onCompleted() {}
  }

  /** Delta: subscriptions change by difference; ACKs carry the nonce. */
  private final class DeltaRequests implements Requests {
    private final io.grpc.stub.StreamObserver<DeltaDiscoveryRequest> stream;

    DeltaRequests(io.grpc.stub.StreamObserver<DeltaDiscoveryRequest> stream) {
      this.stream = stream;
    }

    @Override
    public void wildcard(ResourceType type, boolean first) {
      // Naming nothing in a type's first request is the wildcard, as Envoy asks for it.
      DeltaDiscoveryRequest.Builder request =
          DeltaDiscoveryRequest.newBuilder().setTypeUrl(type.typeUrl());
      if (first) {
        request.setNode(node);
      }
      stream.onNext(request.build());
    }

    @Override
    public void resubscribe(ResourceType type, Set<String> before, Set<String> now) {
      DeltaDiscoveryRequest.Builder request =
          DeltaDiscoveryRequest.newBuilder().setTypeUrl(type.typeUrl());
      for (String name : now) {
        if (!before.contains(name)) {
          request.addResourceNamesSubscribe(name);
        }
      }
      for (String name : before) {
        if (!now.contains(name)) {
          request.addResourceNamesUnsubscribe(name);
        }
      }
      stream.onNext(request.build());
    }

    @Override
    public void ack(ResourceType type, String version, String nonce) {
      stream.onNext(
          DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(type.typeUrl())
              .setResponseNonce(nonce)
              .build());
    }

    @Override
    public void nack(ResourceType type, String nonce, String reason) {
      stream.onNext(
          DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(type.typeUrl())
              .setResponseNonce(nonce)
              .setErrorDetail(rejection(reason))
              .build());
    }
  }

  private final class DeltaResponses
      implements ClientResponseObserver<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {

    @Override
    public void beforeStart(ClientCallStreamObserver<DeltaDiscoveryRequest> requestStream) {
      opened(requestStream);
    }

    @Override
    public void onNext(DeltaDiscoveryResponse response) {
      received(response.getSerializedSize());
      List<Any> resources = new ArrayList<>(response.getResourcesCount());
      for (Resource resource : response.getResourcesList()) {
        resources.add(resource.getResource());
      }
      take(
          ResourceType.ofTypeUrl(response.getTypeUrl()).orElseThrow(),
          resources,
          response.getRemovedResourcesList(),
          false,
          response.getSystemVersionInfo(),
          response.getNonce());
    }

    @Override
    public void onError(Throwable error) {
      failed();
    }

    @Override
    public void onCompleted() {}
  }
}
