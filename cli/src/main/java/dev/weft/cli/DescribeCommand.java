package dev.weft.cli;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code weft describe service <ns>/<name>}: a Service as the mesh sees it, from {@code GET
 * /api/services/{ns}/{name}}: ports, endpoints ready or not per zone, and the routes and policies
 * attached to it with their conditions ({@code Programmed} says how many proxies hold each).
 */
@Command(
    name = "describe",
    mixinStandardHelpOptions = true,
    description =
        "Describes a Service as the mesh sees it: ports, endpoints per zone, attached routes and"
            + " policies with their conditions.")
final class DescribeCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "KIND", description = "What to describe: service.")
  String kind;

  @Parameters(
      index = "1",
      paramLabel = "NAME",
      description = "<namespace>/<name>, or <name> in the namespace of -n (default: default).")
  String name;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (!kind.equals("service") && !kind.equals("svc") && !kind.equals("services")) {
      throw new CliException(
          "KIND \"" + kind + "\" is not supported; describe service <ns>/<name>");
    }
    String namespace;
    String service;
    int slash = name.indexOf('/');
    if (slash >= 0) {
      namespace = name.substring(0, slash);
      service = name.substring(slash + 1);
    } else {
      namespace = cli.namespace == null || cli.namespace.isBlank() ? "default" : cli.namespace;
      service = name;
    }
    if (namespace.isEmpty() || service.isEmpty() || service.contains("/")) {
      throw new CliException("NAME \"" + name + "\" is not <namespace>/<name> or <name>");
    }
    JsonNode details =
        cli.api()
            .get(
                "/api/services/"
                    + URLEncoder.encode(namespace, StandardCharsets.UTF_8)
                    + "/"
                    + URLEncoder.encode(service, StandardCharsets.UTF_8));
    print(details, spec.commandLine().getOut());
    return 0;
  }

  private static void print(JsonNode d, PrintWriter out) {
    out.println(
        "Service:      " + d.path("namespace").asString() + "/" + d.path("name").asString());
    List<String> ips = new ArrayList<>();
    d.path("clusterIps").forEach(ip -> ips.add(ip.asString()));
    out.println(
        "Cluster IPs:  "
            + (ips.isEmpty() ? "<none>" : String.join(", ", ips))
            + (d.path("headless").asBoolean() ? " (headless)" : ""));
    out.println("Ports:");
    if (d.path("ports").isEmpty()) {
      out.println("  <none>");
    }
    for (JsonNode port : d.path("ports")) {
      String appProtocol = port.path("appProtocol").asString("");
      out.println(
          "  "
              + (port.path("name").asString("").isEmpty()
                  ? "<unnamed>"
                  : port.path("name").asString())
              + "  "
              + port.path("port").asInt()
              + "/"
              + port.path("protocol").asString("TCP")
              + (appProtocol.isEmpty() || appProtocol.equals("null")
                  ? ""
                  : " (" + appProtocol + ")")
              + " -> "
              + port.path("targetPort").asString());
    }
    out.println(
        "Endpoints:    "
            + d.path("readyEndpoints").asInt()
            + " ready, "
            + d.path("notReadyEndpoints").asInt()
            + " not ready");
    if (!d.path("zones").isEmpty()) {
      Table zones = new Table(List.of("  ZONE", "READY", "NOT READY"));
      for (JsonNode zone : d.path("zones")) {
        String name = zone.path("zone").asString();
        zones.add(
            List.of(
                "  " + (name.isEmpty() ? "<no zone>" : name),
                Integer.toString(zone.path("ready").asInt()),
                Integer.toString(zone.path("notReady").asInt())));
      }
      zones.print(out);
    }
    out.println("Attached routes and policies:");
    if (d.path("attached").isEmpty()) {
      out.println("  <none>");
    }
    for (JsonNode config : d.path("attached")) {
      out.println(
          "  "
              + config.path("kind").asString()
              + " "
              + config.path("namespace").asString()
              + "/"
              + config.path("name").asString());
      Table conditions = new Table(List.of("    CONDITION", "STATUS", "REASON", "MESSAGE"));
      for (JsonNode condition : config.path("conditions")) {
        conditions.add(
            List.of(
                "    " + condition.path("type").asString(),
                condition.path("status").asBoolean() ? "True" : "False",
                condition.path("reason").asString(),
                condition.path("message").asString().strip().replaceAll("\\s+", " ")));
      }
      conditions.print(out);
    }
  }
}
