package dev.weft.controller;

import dev.weft.api.validation.Validated;
import dev.weft.ca.CredentialFiles;
import dev.weft.distributor.Bootstrap;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar weft-controller.jar bootstrap --namespace NS --service-account SA}: prints a
 * gRPC xDS bootstrap for a workload, without starting the control plane.
 */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = "Prints the gRPC xDS bootstrap JSON for a workload.")
final class BootstrapCommand implements Callable<Integer> {

  @Option(names = "--namespace", required = true, description = "The workload's namespace.")
  String namespace;

  @Option(
      names = "--service-account",
      required = true,
      description = "The workload's service account.")
  String serviceAccount;

  @Option(names = "--pod", defaultValue = "", description = "The workload's Pod name.")
  String pod;

  @Option(names = "--zone", defaultValue = "", description = "The workload's zone.")
  String zone;

  @Option(
      names = "--xds-address",
      defaultValue = "localhost:15010",
      description = "host:port of the control plane's xDS server (default ${DEFAULT-VALUE}).")
  String xdsAddress;

  @Option(
      names = "--certificate-dir",
      defaultValue = "",
      description =
          "Where the workload's certificate agent writes its files; adds the file_watcher"
              + " certificate provider that mutual TLS reads (default: none).")
  String certificateDir;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /**
   * The agent-written files in {@code directory}, reread every minute (a fraction of a one-hour
   * certificate's half-life); empty for no directory.
   */
  static Optional<Bootstrap.CertificateFiles> certificateFiles(String directory) {
    if (directory == null || directory.isBlank()) {
      return Optional.empty();
    }
    Path dir = Path.of(directory);
    return Optional.of(
        new Bootstrap.CertificateFiles(
            dir.resolve(CredentialFiles.CERTIFICATE_FILE),
            dir.resolve(CredentialFiles.PRIVATE_KEY_FILE),
            dir.resolve(CredentialFiles.CA_CERTIFICATE_FILE),
            Duration.ofMinutes(1)));
  }

  @Override
  public Integer call() {
    Validated<Bootstrap.Workload> workload =
        Bootstrap.workload(namespace, serviceAccount, pod, zone);
    if (workload instanceof Validated.Valid<Bootstrap.Workload> valid) {
      spec.commandLine()
          .getOut()
          .println(Bootstrap.json(xdsAddress, valid.value(), certificateFiles(certificateDir)));
      return 0;
    }
    PrintWriter err = spec.commandLine().getErr();
    workload.errors().forEach(e -> err.println("--" + option(e.path()) + ": " + e.reason()));
    return 2;
  }

  private static String option(String field) {
    return field.equals("serviceAccount") ? "service-account" : field;
  }

  /** Runs the command on {@code args} (after the word {@code bootstrap}); returns the exit code. */
  static int run(String... args) {
    return new CommandLine(new BootstrapCommand()).execute(args);
  }
}
