package dev.weft.benchmarks;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
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
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * One simulated proxy: its own connection, one ADS stream (state of the world or delta), an ACK for
 * every response it accepts. It reports the changes each acknowledged response contains, and
 * whether it holds every resource it expects ("fully configured"). How it subscribes is its kind's:
 * a proxyless gRPC client ({@link ProxylessClient}) or an Envoy sidecar ({@link EnvoySidecar}).
 *
 * <p>Thread-safety: gRPC delivers one stream's responses one at a time and the ACK is sent from
 * that callback, so a stream's state needs no lock; {@link #configured} is volatile, and {@link
 * #connect} is called only while no stream is open.
 */
abstract class SimulatedProxy {

  /** The ADS variant a proxy speaks. */
  enum Protocol {
    SOTW,
    DELTA
  }

  /**
   * Where a proxy reports what it received.
   *
   * @param nacks responses a proxy rejected, as Envoy does a resource it cannot take
   */
  record Counters(
      ConvergenceTracker endpointChanges,
      ConvergenceTracker routeChanges,
      LongAdder bytes,
      LongAdder responses,
      LongAdder errors,
      LongAdder nacks) {

    /** Counters whose changes are not tracked: for the warm-up fleet. */
    static Counters untracked() {
      ConvergenceTracker ignored = new ConvergenceTracker(1);
      return new Counters(
          ignored, ignored, new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder());
    }
  }

  /** The Services whose endpoints and routes it tracks, by index. */
  private final int[] services;

  /** The canonical names of {@link #services}: cluster, routes and load assignment. */
  protected final List<String> names;

  protected final Protocol protocol;
  protected final Counters counters;
  protected final Node node;
  private final String serviceAccount;
  private final Map<String, Integer> slotByName = new HashMap<>();

  private final Map<ResourceType, Set<String>> missing = new EnumMap<>(ResourceType.class);
  private final int[] credited;
  private int routeCredited = -1;
  private volatile boolean configured;
  private volatile ClientCallStreamObserver<?> stream;

  /**
   * @param services the Services it holds the resources of
   * @param serviceAccount the service account its node claims, in namespace {@link
   *     BenchMesh#NAMESPACE}, as a sidecar's does; over mutual TLS, the one its certificate names
   */
  SimulatedProxy(
      int[] services, Protocol protocol, Counters counters, String serviceAccount, Node node) {
    this.services = services.clone();
    this.names = Arrays.stream(services).mapToObj(BenchMesh::resourceName).toList();
    this.protocol = protocol;
    this.counters = counters;
    this.serviceAccount = serviceAccount;
    this.node = node;
    this.credited = new int[services.length];
    Arrays.fill(credited, -1);
    for (int i = 0; i < services.length; i++) {
      slotByName.put(names.get(i), i);
    }
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
  abstract void connect(ManagedChannel channel);

  /** Starts over: the proxy holds nothing, and waits for {@code expected}, per type. */
  protected final void expect(Map<ResourceType, Set<String>> expected) {
    configured = false;
    for (ResourceType type : ResourceType.values()) {
      missing.put(type, new HashSet<>(expected.getOrDefault(type, Set.of())));
    }
  }

  /** The stream just opened: what {@link #disconnect} cancels. */
  protected final void opened(ClientCallStreamObserver<?> requests) {
    stream = requests;
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
  protected final void failed() {
    if (stream != null) {
      counters.errors().increment();
    }
  }

  /** Counts a response as it arrives. */
  protected final void received(int serializedSize) {
    counters.bytes().add(serializedSize);
    counters.responses().increment();
  }

  /** The changes one response carries, credited once its ACK is sent. */
  protected final class Received {
    /** When the response arrived, parsed: made as a response's handling starts. */
    private final long receivedNanos = System.nanoTime();

    private final Map<Integer, Integer> newestBySlot = new HashMap<>();
    private int routeState = -1;

    void acknowledged(long nanos) {
      for (Map.Entry<Integer, Integer> entry : newestBySlot.entrySet()) {
        int slot = entry.getKey();
        if (entry.getValue() > credited[slot]) {
          credited[slot] =
              counters
                  .endpointChanges()
                  .acknowledgedUpTo(
                      services[slot], credited[slot], entry.getValue(), receivedNanos, nanos);
        }
      }
      int latest = counters.routeChanges().latest();
      if (routeState >= 0 && latest > routeCredited && routeState == latest % 2) {
        routeCredited =
            counters
                .routeChanges()
                .acknowledgedUpTo(0, routeCredited, latest, receivedNanos, nanos);
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
  protected static String nameOf(ByteString message) throws InvalidProtocolBufferException {
    return string(message, 1);
  }

  /** The first value of string field {@code number} of a message; empty when it has none. */
  protected static String string(ByteString message, int number)
      throws InvalidProtocolBufferException {
    List<ByteString> values = fields(message, number);
    return values.isEmpty() ? "" : values.get(0).toStringUtf8();
  }

  /**
   * The values of length-delimited field {@code number} of a message (strings, bytes, messages), in
   * order, without parsing anything else: views of its bytes, not copies.
   */
  protected static List<ByteString> fields(ByteString message, int number)
      throws InvalidProtocolBufferException {
    try {
      List<ByteString> values = new ArrayList<>(1);
      CodedInputStream in = message.newCodedInput();
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (WireFormat.getTagFieldNumber(tag) == number
            && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          int length = in.readRawVarint32();
          int start = in.getTotalBytesRead();
          values.add(message.substring(start, start + length));
          in.skipRawBytes(length);
        } else {
          in.skipField(tag);
        }
      }
      return values;
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException | IndexOutOfBoundsException e) {
      throw new InvalidProtocolBufferException(e.toString());
    }
  }

  /**
   * Takes a resource: credits the endpoint or route changes it holds to {@code received}, and
   * checks it off what the proxy waits for. Returns its name.
   */
  protected final String inspect(ResourceType type, Any body, Received received)
      throws InvalidProtocolBufferException {
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
    return name;
  }
}
