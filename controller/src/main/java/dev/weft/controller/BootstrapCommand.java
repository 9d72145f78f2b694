package dev.weft.controller;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.ca.CredentialFiles;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
    description =
        "Prints the xDS bootstrap JSON for a workload: gRPC's, or with --proxy envoy an Envoy"
            + " sidecar's or gateway's.")
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

  @Option(
      names = "--proxy",
      defaultValue = "grpc",
      description = "grpc (proxyless gRPC) or envoy (default ${DEFAULT-VALUE}).")
  String proxy;

  @Option(
      names = "--type",
      defaultValue = "sidecar",
      description = "Envoy only: sidecar or gateway (default ${DEFAULT-VALUE}).")
  String type;

  @Option(
      names = "--pod-ip",
      defaultValue = "",
      description = "Envoy only: the Pod's IP address, for its inbound listener.")
  String podIp;

  @Option(
      names = "--label",
      description = "Envoy only: a label of the Pod, key=value; repeat for each.")
  List<String> labels;

  @Option(
      names = "--egress",
      description =
          "Envoy sidecar only: a Service the workload calls, <namespace>/<service> (* for any,"
              + " . for the workload's namespace: ./*); repeat, or separate with commas. The"
              + " sidecar then gets those Services only; default: the whole mesh.")
  List<String> egress;

  @Option(
      names = "--control-plane-id",
      defaultValue = "",
      description =
          "Envoy only: reach the control plane over mutual TLS (at --xds-address, its CA's port)"
              + " and accept only this SPIFFE ID, e.g."
              + " spiffe://cluster.local/ns/weft-system/sa/weft; default: plaintext.")
  String controlPlaneId;

  @Option(
      names = "--sds-socket",
      defaultValue = "/var/run/weft/sds/socket",
      description =
          "Envoy only, with --control-plane-id: the workload agent's SDS socket (default"
              + " ${DEFAULT-VALUE}).")
  Path sdsSocket;

  @Option(
      names = "--state-of-the-world",
      description = "Envoy only: state-of-the-world ADS instead of delta.")
  boolean stateOfTheWorld;

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
    FieldErrors errors = new FieldErrors();
    Validated<Bootstrap.Workload> workload =
        Bootstrap.workload(namespace, serviceAccount, pod, zone);
    workload.errors().forEach(e -> errors.add(e.path(), e.reason()));
    boolean envoy = proxy.equals("envoy");
    if (!envoy && !proxy.equals("grpc")) {
      errors.add("proxy", "\"" + proxy + "\" is neither grpc nor envoy");
    }
    Optional<EnvoyBootstrap.ProxyType> proxyType = EnvoyBootstraps.proxyType(type);
    if (proxyType.isEmpty()) {
      errors.add("type", "\"" + type + "\" is neither sidecar nor gateway");
    }
    Map<String, String> podLabels = EnvoyBootstraps.labels(labels, errors);
    List<EgressHosts.Host> egressHosts = EnvoyBootstraps.egress(egress, errors);
    if (!podIp.isEmpty() && !EnvoyBootstraps.isIpAddress(podIp)) {
      errors.add("pod-ip", "\"" + podIp + "\" is not an IP address");
    }
    int colon = xdsAddress.lastIndexOf(':');
    int port = colon < 0 ? -1 : parsePort(xdsAddress.substring(colon + 1));
    if (port < 1) {
      errors.add("xds-address", "\"" + xdsAddress + "\" is not host:port");
    }
    if (!controlPlaneId.isEmpty() && !controlPlaneId.startsWith("spiffe://")) {
      errors.add("control-plane-id", "\"" + controlPlaneId + "\" is not a spiffe:// ID");
    }
    if (!errors.isEmpty() || !(workload instanceof Validated.Valid<Bootstrap.Workload> valid)) {
      PrintWriter err = spec.commandLine().getErr();
      errors.toList().forEach(e -> err.println("--" + option(e.path()) + ": " + e.reason()));
      return 2;
    }
    String json;
    if (envoy) {
      Optional<EnvoyBootstrap.ControlPlaneTls> tls =
          controlPlaneId.isEmpty()
              ? Optional.empty()
              : Optional.of(new EnvoyBootstrap.ControlPlaneTls(controlPlaneId, sdsSocket));
      json =
          EnvoyBootstrap.json(
              new EnvoyBootstrap.Proxy(
                  proxyType.get(), valid.value(), podIp, podLabels, egressHosts),
              new EnvoyBootstrap.ControlPlane(
                  xdsAddress.substring(0, colon), port, tls, !stateOfTheWorld));
    } else {
      json = Bootstrap.json(xdsAddress, valid.value(), certificateFiles(certificateDir));
    }
    spec.commandLine().getOut().println(json);
    return 0;
  }

  private static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text);
      return port <= 65535 ? port : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String option(String field) {
    return field.equals("serviceAccount") ? "service-account" : field.replaceAll("\\[\\d+]$", "");
  }

  /** Runs the command on {@code args} (after the word {@code bootstrap}); returns the exit code. */
  static int run(String... args) {
    return new CommandLine(new BootstrapCommand()).execute(args);
  }
}
