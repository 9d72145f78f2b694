package dev.weft.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.File;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code weft}: the command line of platform engineers, also {@code kubectl weft} through the
 * {@code kubectl-weft} launcher. It talks to Weft's HTTP API ({@code --server}, with a bearer token
 * in a cluster) and to the Kubernetes API through the user's kubeconfig, as kubectl does.
 *
 * <p>Every failure is one line on stderr, saying what was wrong and what to do, and a non-zero exit
 * code: 1 when the command failed, 2 for a wrong command line.
 */
@Command(
    name = "weft",
    mixinStandardHelpOptions = true,
    versionProvider = WeftCli.Version.class,
    subcommands = {
      ProxyStatusCommand.class,
      ConfigDumpCommand.class,
      DescribeCommand.class,
      ShiftCommand.class,
      RollbackCommand.class,
      CheckCommand.class,
      CommandLine.HelpCommand.class
    },
    description = "Inspect and steer a Weft service mesh.")
public final class WeftCli {

  /** The subcommands, so that an application's main method knows which arguments are ours. */
  public static final Set<String> COMMANDS =
      Set.of("proxy-status", "config-dump", "describe", "shift", "rollback", "check", "help");

  @Option(
      names = "--server",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:WEFT_SERVER:-http://localhost:8080}",
      description =
          "Weft's HTTP API (default ${DEFAULT-VALUE}, after kubectl -n weft-system port-forward"
              + " svc/weft 8080; env WEFT_SERVER).")
  URI server;

  @Option(
      names = "--token",
      scope = ScopeType.INHERIT,
      defaultValue = "${env:WEFT_TOKEN}",
      description =
          "Bearer token for Weft's debug API in a cluster, e.g. $(kubectl create token NAME);"
              + " env WEFT_TOKEN.")
  String token;

  @Option(
      names = {"-n", "--namespace"},
      scope = ScopeType.INHERIT,
      description = "Namespace (default: the kubeconfig context's).")
  String namespace;

  @Option(
      names = "--kubeconfig",
      scope = ScopeType.INHERIT,
      description = "Kubeconfig file (default: $KUBECONFIG or ~/.kube/config, as kubectl).")
  File kubeconfig;

  @Option(
      names = "--context",
      scope = ScopeType.INHERIT,
      description = "Kubeconfig context (default: the current one).")
  String context;

  @Option(
      names = "--request-timeout",
      scope = ScopeType.INHERIT,
      defaultValue = "10s",
      converter = Durations.class,
      description = "How long one request may take (default ${DEFAULT-VALUE}).")
  Duration requestTimeout;

  Clock clock = Clock.systemUTC();

  private WeftCli() {}

  /** Runs {@code args} and returns the exit code; never throws. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    return commandLine(Clock.systemUTC(), out, err).execute(args);
  }

  static CommandLine commandLine(Clock clock, PrintWriter out, PrintWriter err) {
    WeftCli cli = new WeftCli();
    cli.clock = clock;
    CommandLine line = new CommandLine(cli);
    line.setOut(out);
    line.setErr(err);
    line.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine.getErr().println(oneLine(commandLine, e));
          commandLine.getErr().flush();
          return 1;
        });
    line.setParameterExceptionHandler(
        (e, args) -> {
          CommandLine failed = e.getCommandLine();
          failed
              .getErr()
              .println(
                  name(failed)
                      + ": "
                      + e.getMessage()
                      + " (see "
                      + failed.getCommandSpec().qualifiedName()
                      + " --help)");
          failed.getErr().flush();
          return 2;
        });
    return line;
  }

  /**
   * Runs the CLI. A leading {@code cli} is skipped, as the controller's jar skips it, so that the
   * {@code kubectl-weft} launcher runs either jar.
   */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    String[] cliArgs =
        args.length > 0 && args[0].equals("cli") ? Arrays.copyOfRange(args, 1, args.length) : args;
    System.exit(run(cliArgs, out, err));
  }

  private static String name(CommandLine commandLine) {
    return commandLine.getCommandSpec().qualifiedName();
  }

  /** The one line a failure prints. */
  private static String oneLine(CommandLine commandLine, Exception e) {
    String prefix = name(commandLine) + ": ";
    if (e instanceof CliException) {
      return prefix + e.getMessage();
    }
    if (e instanceof KubernetesClientException k) {
      return prefix + Kube.describe(k);
    }
    return prefix
        + "unexpected "
        + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + e.getMessage())
        + "; please report it with the command you ran";
  }

  /** Weft's HTTP API, as the global options say. */
  WeftApi api() {
    return new WeftApi(server, token, requestTimeout);
  }

  /** A Kubernetes client from the kubeconfig, as kubectl would pick it. */
  KubernetesClient kubernetes() {
    Config config;
    if (kubeconfig != null) {
      if (!kubeconfig.isFile()) {
        throw new CliException(
            "--kubeconfig "
                + kubeconfig
                + " is not a readable file; pass the path of a kubeconfig");
      }
      config = Config.fromKubeconfig(context, kubeconfig);
    } else {
      config = Config.autoConfigure(context);
    }
    if (context != null
        && (config.getCurrentContext() == null
            || !context.equals(config.getCurrentContext().getName()))) {
      throw new CliException(
          "--context "
              + context
              + " is not in the kubeconfig; kubectl config get-contexts lists them");
    }
    // As kubectl: one attempt per request, so an unreachable server is reported at once.
    config.setRequestRetryBackoffLimit(0);
    config.setRequestTimeout((int) requestTimeout.toMillis());
    config.setConnectionTimeout((int) requestTimeout.toMillis());
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** The namespace: {@code -n}, else the kubeconfig context's, else {@code default}, as kubectl. */
  String namespace(KubernetesClient client) {
    if (namespace != null && !namespace.isBlank()) {
      return namespace;
    }
    String fromContext = client.getNamespace();
    return fromContext == null || fromContext.isBlank() ? "default" : fromContext;
  }

  /** The jar's version, as Maven wrote it. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = WeftCli.class.getPackage().getImplementationVersion();
      return new String[] {"weft " + (version == null ? "(development build)" : version)};
    }
  }
}
