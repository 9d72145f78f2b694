package dev.weft.ca;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The agent as a command:
 *
 * <pre>
 * java -cp ... dev.weft.ca.AgentMain --ca=weft.weft-system.svc:15012 --ca-bundle=/etc/weft/root.pem
 *     --token-file=/var/run/secrets/tokens/weft --out=/var/run/weft/certs [--validity-seconds=3600]
 *     [--ca-spiffe-id=spiffe://cluster.local/ns/weft-system/sa/weft] [--xds-proxy-port=15010]
 *     [--sds-socket=/var/run/weft/sds/socket] [--once]
 * </pre>
 *
 * Without {@code --once} it keeps renewing until the process is stopped; {@code --sds-socket} also
 * serves the certificate to an Envoy sidecar over SDS ({@link WorkloadAgent#startSdsServer}).
 */
public final class AgentMain {

  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args, System.err));
  }

  /**
   * Runs the agent; a failure the user can fix (the CA refuses the token, cannot be reached, a file
   * cannot be read, a number is not one) is one line on {@code err} and exit code 1, not a stack
   * trace.
   */
  static int run(String[] args, PrintStream err) throws InterruptedException {
    try {
      return runOrThrow(args, err);
    } catch (StatusRuntimeException e) {
      err.println("weft agent: " + describe(e, argument(args, "ca")));
      return 1;
    } catch (IOException | UncheckedIOException e) {
      err.println(
          "weft agent: cannot read or write a file: "
              + e.getMessage()
              + "; check --ca-bundle, --token-file and --out");
      return 1;
    } catch (NumberFormatException e) {
      err.println(
          "weft agent: --validity-seconds and --xds-proxy-port take a whole number ("
              + e.getMessage()
              + ")");
      return 2;
    }
  }

  private static String describe(StatusRuntimeException e, String ca) {
    Status status = e.getStatus();
    String detail = status.getDescription() == null ? "" : " (" + status.getDescription() + ")";
    switch (status.getCode()) {
      case UNAUTHENTICATED:
      case PERMISSION_DENIED:
        return "the CA at "
            + ca
            + " refused the token"
            + detail
            + "; check --token-file (the Pod's projected ServiceAccount token) or the CA's"
            + " bootstrap tokens";
      case UNAVAILABLE:
      case DEADLINE_EXCEEDED:
        return "cannot reach the CA at "
            + ca
            + detail
            + "; check --ca (host:port of Weft's CA port) and --ca-bundle, and that Weft runs";
      default:
        return "the CA at " + ca + " refused the certificate request: " + status.getCode() + detail;
    }
  }

  private static String argument(String[] args, String name) {
    for (String arg : args) {
      if (arg.startsWith("--" + name + "=")) {
        return arg.substring(name.length() + 3);
      }
    }
    return "";
  }

  private static int runOrThrow(String[] args, PrintStream err)
      throws IOException, InterruptedException {
    Map<String, String> options = new HashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--")) {
        err.println("unexpected argument " + arg);
        return 2;
      }
      int eq = arg.indexOf('=');
      options.put(
          eq < 0 ? arg.substring(2) : arg.substring(2, eq), eq < 0 ? "" : arg.substring(eq + 1));
    }
    for (String required : new String[] {"ca", "ca-bundle", "out"}) {
      if (!options.containsKey(required)) {
        err.println(
            "missing --"
                + required
                + "; usage: --ca=HOST:PORT --ca-bundle=ROOTS.pem --out=DIR [--token-file=FILE]"
                + " [--validity-seconds=N] [--ca-spiffe-id=ID] [--xds-proxy-port=N]"
                + " [--sds-socket=PATH] [--once]");
        return 2;
      }
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    WorkloadAgent.Builder builder =
        WorkloadAgent.builder()
            .target(options.get("ca"))
            .serverSpiffeId(
                options.getOrDefault(
                    "ca-spiffe-id", "spiffe://cluster.local/ns/weft-system/sa/weft"))
            .bootstrapTrustBundle(Path.of(options.get("ca-bundle")))
            .outputDirectory(Path.of(options.get("out")))
            .scheduler(scheduler);
    if (options.containsKey("token-file")) {
      builder.tokenFile(Path.of(options.get("token-file")));
    }
    if (options.containsKey("validity-seconds")) {
      builder.validity(Duration.ofSeconds(Long.parseLong(options.get("validity-seconds"))));
    }
    try (WorkloadAgent agent = builder.build()) {
      if (options.containsKey("once")) {
        Svid svid = agent.renewNow();
        err.println("wrote " + svid.spiffeId() + " valid until " + svid.notAfter());
        return 0;
      }
      agent.start();
      if (options.containsKey("xds-proxy-port")) {
        // The workload's bootstrap points at this port; the agent carries its streams to Weft.
        XdsProxy proxy = agent.startXdsProxy(Integer.parseInt(options.get("xds-proxy-port")));
        err.println("xDS proxy on 127.0.0.1:" + proxy.port() + " to " + options.get("ca"));
      }
      if (options.containsKey("sds-socket")) {
        // Envoy's bootstrap names this socket in a static cluster; see docs/envoy.md.
        try {
          WorkloadAgent.SdsHandle sds = agent.startSdsServer(Path.of(options.get("sds-socket")));
          // Removes the socket when the container is stopped (SIGTERM), not only at the next start.
          Runtime.getRuntime().addShutdownHook(new Thread(sds::close, "weft-sds-close"));
          err.println("SDS on unix:" + sds.socket());
        } catch (IllegalStateException | UncheckedIOException e) {
          err.println(e.getMessage());
          return 1;
        }
      }
      new CountDownLatch(1).await();
      return 0;
    } finally {
      scheduler.shutdownNow();
    }
  }
}
