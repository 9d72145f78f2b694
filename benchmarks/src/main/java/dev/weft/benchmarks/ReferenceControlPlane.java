package dev.weft.benchmarks;

import com.google.protobuf.Message;
import dev.weft.distributor.MeshResources;
import dev.weft.distributor.ResourceNames;
import dev.weft.distributor.ResourceType;
import dev.weft.registry.ChangeSet;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.Subscription;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reference peer: envoyproxy's java-control-plane ({@link V3DiscoveryServer} over a {@link
 * SimpleCache}) serving the same resources Weft would, as its users feed it: on every registry
 * change the affected resources are translated again and a new snapshot set, with a new version for
 * each type that changed.
 *
 * <p>Thread-safety: registry changes arrive on one thread, which owns the resource maps;
 * java-control-plane synchronizes its cache itself.
 */
final class ReferenceControlPlane implements ControlPlaneCommand.Served {

  private static final String GROUP = "mesh";

  private final SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
  private final ResourceNames names = new ResourceNames("cluster.local");
  private final Map<ResourceType, Map<String, Message>> resources =
      new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, Integer> versions = new EnumMap<>(ResourceType.class);
  private final AtomicInteger streams = new AtomicInteger();
  private final java.util.concurrent.ExecutorService listenerThread =
      Executors.newSingleThreadExecutor();
  private Subscription subscription;
  private Server server;

  private ReferenceControlPlane() {
    for (ResourceType type : ResourceType.values()) {
      resources.put(type, new TreeMap<>());
      versions.put(type, 0);
    }
  }

  static ReferenceControlPlane start(MeshRegistry registry, int port) {
    ReferenceControlPlane reference = new ReferenceControlPlane();
    reference.subscription = registry.subscribe(reference.listenerThread, reference::changed);
    V3DiscoveryServer discovery =
        new V3DiscoveryServer(List.of(reference.streamCounter()), reference.cache);
    try {
      reference.server =
          NettyServerBuilder.forAddress(new InetSocketAddress(port))
              .addService(discovery.getAggregatedDiscoveryServiceImpl())
              .directExecutor()
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    while (reference.cache.getSnapshot(GROUP) == null) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
    }
    return reference;
  }

  private void changed(MeshState state, ChangeSet changes) {
    List<ServiceKey> touched = new ArrayList<>(changes.services());
    for (ServiceKey service : changes.endpoints()) {
      if (!changes.services().contains(service)) {
        touched.add(service);
      }
    }
    Map<ResourceType, List<Message>> translated = MeshResources.of(state, names, touched);
    for (ResourceType type : ResourceType.values()) {
      boolean typeChanged = false;
      for (ServiceKey service : changes.services()) {
        if (state.service(service).isEmpty()) {
          typeChanged |= resources.get(type).keySet().removeIf(n -> n.startsWith(prefix(service)));
        }
      }
      for (Message message : translated.get(type)) {
        String name = nameOf(message);
        if (type == ResourceType.ENDPOINT
            && !changes.endpoints().contains(serviceOf(name))
            && !changes.services().contains(serviceOf(name))) {
          continue;
        }
        if (type != ResourceType.ENDPOINT && !changes.services().contains(serviceOf(name))) {
          continue;
        }
        typeChanged |= !message.equals(resources.get(type).put(name, message));
      }
      if (typeChanged) {
        versions.merge(type, 1, Integer::sum);
      }
    }
    cache.setSnapshot(
        GROUP,
        Snapshot.create(
            cast(resources.get(ResourceType.CLUSTER), Cluster.class),
            version(ResourceType.CLUSTER),
            cast(resources.get(ResourceType.ENDPOINT), ClusterLoadAssignment.class),
            version(ResourceType.ENDPOINT),
            cast(resources.get(ResourceType.LISTENER), Listener.class),
            version(ResourceType.LISTENER),
            cast(resources.get(ResourceType.ROUTE), RouteConfiguration.class),
            version(ResourceType.ROUTE),
            List.of(),
            "0"));
  }

  private String version(ResourceType type) {
    return Integer.toString(versions.get(type));
  }

  private static String prefix(ServiceKey service) {
    return service.name() + "." + service.namespace() + ".";
  }

  private static ServiceKey serviceOf(String name) {
    String[] labels = name.split("\\.", 3);
    return new ServiceKey(labels[1], labels[0]);
  }

  private static String nameOf(Message message) {
    if (message instanceof Cluster cluster) {
      return cluster.getName();
    } else if (message instanceof ClusterLoadAssignment assignment) {
      return assignment.getClusterName();
    } else if (message instanceof Listener listener) {
      return listener.getName();
    }
    return ((RouteConfiguration) message).getName();
  }

  private static <T> List<T> cast(Map<String, Message> messages, Class<T> type) {
    return messages.values().stream().map(type::cast).toList();
  }

  private DiscoveryServerCallbacks streamCounter() {
    return new DiscoveryServerCallbacks() {
      @Override
      public void onStreamOpen(long streamId, String typeUrl) {
        streams.incrementAndGet();
      }

      @Override
      public void onStreamClose(long streamId, String typeUrl) {
        streams.decrementAndGet();
      }

      @Override
      public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        streams.decrementAndGet();
      }

      @Override
      public void onV3StreamRequest(long streamId, DiscoveryRequest request) {}

      @Override
      public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}
    };
  }

  @Override
  public int port() {
    return server.getPort();
  }

  @Override
  public int streams() {
    return streams.get();
  }

  @Override
  public void close() {
    subscription.close();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    listenerThread.shutdownNow();
  }
}
