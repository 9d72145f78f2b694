package dev.weft.distributor;

import com.google.common.net.InetAddresses;
import dev.weft.registry.MeshService;
import dev.weft.registry.ServiceKey;
import dev.weft.registry.ServicePort;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The names of the resources Weft serves, and the names clients may ask for.
 *
 * <p>A client channel to {@code xds:///NAME} asks for the Listener {@code NAME}. For a Service
 * {@code greeter} in namespace {@code demo}, port 50051, these names are served, all with the same
 * configuration:
 *
 * <ul>
 *   <li>{@code greeter.demo.svc.cluster.local:50051} (canonical; the cluster domain is
 *       configurable),
 *   <li>{@code greeter.demo.svc:50051} and {@code greeter.demo:50051},
 *   <li>and, when the Service has exactly one port, the same three without the port.
 * </ul>
 *
 * <p>The route configuration, the cluster and its load assignment are all named by the canonical
 * name. xDS-enabled gRPC servers (gRFC A36) ask for {@code weft/inbound?address=IP:PORT}, the name
 * their bootstrap's {@code server_listener_resource_name_template} gives.
 *
 * <p>Immutable, thread-safe.
 */
public final class ResourceNames {

  /** The template a server's bootstrap carries; gRPC replaces %s with its listening address. */
  public static final String SERVER_LISTENER_TEMPLATE = "weft/inbound?address=%s";

  static final String SERVER_LISTENER_PREFIX = "weft/inbound?address=";

  /** The prefix of {@link #notInMeshCluster} names. */
  static final String NOT_IN_MESH_PREFIX = "weft/not-in-mesh/";

  /**
   * How much of a client's name a not-in-mesh cluster repeats. Every such cluster is alike (no
   * endpoints): the name only labels the client's error, and a cut one keeps the cluster's name
   * within the default name limit (512 bytes), which would end the stream of a client that asked
   * for a longer one.
   */
  private static final int NOT_IN_MESH_NAME_CHARS = 160;

  private final String clusterDomain;

  public ResourceNames(String clusterDomain) {
    if (clusterDomain.isEmpty() || clusterDomain.startsWith(".") || clusterDomain.endsWith(".")) {
      throw new IllegalArgumentException("not a cluster domain: \"" + clusterDomain + "\"");
    }
    this.clusterDomain = clusterDomain;
  }

  /** The canonical name of a Service port: {@code <svc>.<ns>.svc.<domain>:<port>}. */
  public String canonical(ServiceKey service, int port) {
    return host(service) + ":" + port;
  }

  private String host(ServiceKey service) {
    return service.name() + "." + service.namespace() + ".svc." + clusterDomain;
  }

  /** Every Listener name a client may use for a port of a Service. */
  List<String> listenerNames(MeshService service, ServicePort port) {
    ServiceKey key = service.key();
    List<String> hosts =
        List.of(
            host(key),
            key.name() + "." + key.namespace() + ".svc",
            key.name() + "." + key.namespace());
    List<String> names = new ArrayList<>(6);
    for (String host : hosts) {
      names.add(host + ":" + port.port());
    }
    if (service.ports().size() == 1) {
      names.addAll(hosts);
    }
    return names;
  }

  /** What a client Listener name refers to. */
  record ClientTarget(ServiceKey service, int port) {
    static final int ONLY_PORT = -1;
  }

  /**
   * Parses a client Listener name; the port is {@link ClientTarget#ONLY_PORT} when the name has
   * none. Returns empty for a name that is not of a form above.
   */
  Optional<ClientTarget> parseListener(String name) {
    String host = name;
    int port = ClientTarget.ONLY_PORT;
    int colon = name.lastIndexOf(':');
    if (colon >= 0) {
      port = parsePort(name.substring(colon + 1));
      if (port < 0) {
        return Optional.empty();
      }
      host = name.substring(0, colon);
    }
    String[] labels = host.split("\\.", 3);
    if (labels.length < 2 || labels[0].isEmpty() || labels[1].isEmpty()) {
      return Optional.empty();
    }
    if (labels.length == 3
        && !labels[2].equals("svc")
        && !labels[2].equals("svc." + clusterDomain)) {
      return Optional.empty();
    }
    return Optional.of(new ClientTarget(new ServiceKey(labels[1], labels[0]), port));
  }

  /** Parses a canonical name back into its Service and port. */
  Optional<ClientTarget> parseCanonical(String name) {
    return parseListener(name)
        .filter(
            t ->
                t.port() != ClientTarget.ONLY_PORT
                    && canonical(t.service(), t.port()).equals(name));
  }

  /**
   * The cluster the Listener of a client name that is not in the mesh sends every call to ({@link
   * Translator#unknownClientListener}): {@code weft/not-in-mesh/NAME}. It has no endpoints, so
   * calls fail at once, with an error that names it.
   */
  static String notInMeshCluster(String listenerName) {
    return NOT_IN_MESH_PREFIX
        + listenerName.substring(0, Math.min(listenerName.length(), NOT_IN_MESH_NAME_CHARS));
  }

  /** Whether a cluster or load assignment name is one of {@link #notInMeshCluster}. */
  static boolean isNotInMesh(String name) {
    return name.startsWith(NOT_IN_MESH_PREFIX);
  }

  /** The address a server Listener name asks for, such as {@code 0.0.0.0:50051}. */
  Optional<ServerAddress> parseServerListener(String name) {
    if (!name.startsWith(SERVER_LISTENER_PREFIX)) {
      return Optional.empty();
    }
    String address = name.substring(SERVER_LISTENER_PREFIX.length());
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      return Optional.empty();
    }
    int port = parsePort(address.substring(colon + 1));
    String ip = address.substring(0, colon);
    if (ip.startsWith("[") && ip.endsWith("]")) {
      ip = ip.substring(1, ip.length() - 1);
    }
    // An IP literal only: a name is never resolved, and anything else is not an address a server
    // listens on.
    if (port < 0) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new ServerAddress(InetAddresses.toAddrString(InetAddresses.forString(ip)), port));
    } catch (IllegalArgumentException notAnIpLiteral) {
      return Optional.empty(); // a scoped IPv6 address whose interface this machine lacks, too
    }
  }

  /** The address and port an xDS-enabled server listens on. */
  record ServerAddress(String ip, int port) {}

  private static int parsePort(String text) {
    if (text.isEmpty() || text.length() > 5) {
      return -1;
    }
    for (int i = 0; i < text.length(); i++) {
      // ASCII only: Character.isDigit (and parseInt) take any script's digits, "٥٠٠٥١" too.
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    int port = Integer.parseInt(text);
    return port >= 1 && port <= 65535 ? port : -1;
  }
}
