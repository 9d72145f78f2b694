package dev.weft.cluster;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.ContainerLaunchException;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One replica of the control plane: the image, run as the chart's pod template says, against the
 * test's API server. All containers share the host's network (no bridge: test traffic stays on
 * loopback), so each replica gets ports of its own, as each Pod would have an IP of its own.
 */
final class Replica implements AutoCloseable {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The token of the chart's ServiceAccount, as the kubelet would mount it in every replica. */
  static final String SERVICE_ACCOUNT_TOKEN = "token-of-the-weft-service-account";

  final String name;
  final int httpPort;
  final int xdsPort;
  final int caPort;
  final int managementPort;
  private final String debugToken;
  private final GenericContainer<?> container;

  private Replica(String name, int[] ports, String debugToken, GenericContainer<?> container) {
    this.name = name;
    this.httpPort = ports[0];
    this.xdsPort = ports[1];
    this.caPort = ports[2];
    this.managementPort = ports[3];
    this.debugToken = debugToken;
    this.container = container;
  }

  /**
   * Starts a replica named {@code name} (its Pod name: its identity in the leader election) from
   * {@code image}; returns once the application has started (not necessarily ready). Its debug API
   * is read with {@code debugToken}, a token the API server accepts for an allowed account.
   */
  static Replica start(
      String name,
      String image,
      PodTemplate pod,
      String namespace,
      ApiServer api,
      Path work,
      String debugToken) {
    int[] ports = freePorts(5);
    Path config = work.resolve(name + "-config");
    Path log = work.resolve(name + ".log");
    try {
      Files.createDirectories(config);
      Files.writeString(config.resolve("application.yaml"), pod.applicationYaml());
      // The image's user (not root) reads the file, as it reads a ConfigMap volume.
      Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(
          config.resolve("application.yaml"), PosixFilePermissions.fromString("rw-r--r--"));
      Files.deleteIfExists(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> env = new java.util.LinkedHashMap<>(pod.envFor(name, namespace));
    // What the kubelet gives a Pod (the API server, its own address) is given here instead.
    env.put("KUBERNETES_MASTER", api.url());
    env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
    env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    env.put("SERVER_PORT", Integer.toString(ports[0]));
    env.put("WEFT_XDS_PORT", Integer.toString(ports[1]));
    env.put("WEFT_CA_PORT", Integer.toString(ports[2]));
    env.put("MANAGEMENT_SERVER_PORT", Integer.toString(ports[3]));
    env.put("WEFT_WEBHOOKS_PORT", Integer.toString(ports[4]));
    // The Pod's IP address, which the chart passes to the peer address, and the ServiceAccount
    // token the kubelet would mount: the replicas ask one another with it.
    env.put("POD_IP", "127.0.0.1");
    env.put("WEFT_KUBERNETES_REPLICAS_PEER_ADDRESS", "http://127.0.0.1:" + ports[0]);
    env.put("KUBERNETES_AUTH_TOKEN", SERVICE_ACCOUNT_TOKEN);
    GenericContainer<?> container =
        new GenericContainer<>(DockerImageName.parse(image))
            .withImagePullPolicy(imageName -> false)
            .withNetworkMode("host")
            .withEnv(env)
            .withFileSystemBind(config.toString(), pod.configMountPath(), BindMode.READ_ONLY)
            .withCreateContainerCmdModifier(
                create ->
                    create
                        .withUser(pod.runAsUser() + ":" + pod.runAsUser())
                        .getHostConfig()
                        .withMemory(pod.memoryLimitBytes())
                        .withMemorySwap(pod.memoryLimitBytes())
                        .withReadonlyRootfs(pod.readOnlyRootFilesystem())
                        .withTmpFs(Map.of("/tmp", "rw,size=64m")))
            .withLogConsumer(
                frame -> {
                  try {
                    Files.writeString(
                        log,
                        frame.getUtf8String(),
                        StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                })
            .waitingFor(new StartedOrExited().withStartupTimeout(Duration.ofMinutes(2)));
    container.start();
    return new Replica(name, ports, debugToken, container);
  }

  /** Waits for the application to have started, and gives up at once if the process exits. */
  private static final class StartedOrExited extends AbstractWaitStrategy {
    @Override
    protected void waitUntilReady() {
      await()
          .atMost(startupTimeout)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                if (!waitStrategyTarget.isRunning()) {
                  throw new ContainerLaunchException(
                      "the control plane exited at start:\n" + waitStrategyTarget.getLogs());
                }
                return waitStrategyTarget.getLogs().contains("Started WeftApplication");
              });
    }
  }

  private static int[] freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // The port is free again either way.
        }
      }
    }
  }

  InetSocketAddress xdsAddress() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), xdsPort);
  }

  /** GET on the replica's HTTP port: the status code, or -1 when nothing answers. */
  int status(String path) {
    try {
      return HTTP.send(request(path), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** GET on the replica's HTTP port, as JSON, whatever the status. */
  JsonNode json(String path) {
    try {
      return JSON.readTree(HTTP.send(request(path), HttpResponse.BodyHandlers.ofString()).body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Probes and metrics on the management port; the rest (debug pages, bootstraps) on the HTTP port,
   * with the debug token.
   */
  private HttpRequest request(String path) {
    boolean management = path.startsWith("/actuator");
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + (management ? managementPort : httpPort) + path))
            .timeout(Duration.ofSeconds(5));
    if (!management) {
      request.header("Authorization", "Bearer " + debugToken);
    }
    return request.build();
  }

  /** The node ids of the proxies with a stream on this replica. */
  List<String> proxies() {
    List<String> nodes = new ArrayList<>();
    for (JsonNode proxy : json("/debug/proxies?local=true")) {
      nodes.add(proxy.get("nodeId").asString());
    }
    return nodes;
  }

  /** Whether this replica says it leads. */
  boolean leading() {
    return json("/actuator/health").at("/components/leader/details/leading").asBoolean();
  }

  boolean running() {
    return container.isRunning();
  }

  /** SIGTERM, as the kubelet stops a Pod; returns once the process has exited. */
  void terminate(Duration gracePeriod) {
    DockerClientFactory.instance()
        .client()
        .stopContainerCmd(container.getContainerId())
        .withTimeout((int) gracePeriod.toSeconds())
        .exec();
  }

  /** SIGKILL: the process dies at once, as in a node crash. */
  void kill() {
    DockerClientFactory.instance()
        .client()
        .killContainerCmd(container.getContainerId())
        .withSignal("KILL")
        .exec();
  }

  /** How the process ended: its exit code. */
  long exitCode() {
    return DockerClientFactory.instance()
        .client()
        .inspectContainerCmd(container.getContainerId())
        .exec()
        .getState()
        .getExitCodeLong();
  }

  @Override
  public void close() {
    container.stop();
  }
}
