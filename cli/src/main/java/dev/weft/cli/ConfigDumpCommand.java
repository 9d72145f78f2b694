package dev.weft.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code weft config-dump <proxy>}: the resources one proxy holds, as JSON. */
@Command(
    name = "config-dump",
    mixinStandardHelpOptions = true,
    description =
        "Prints, as JSON, the xDS resources a connected proxy holds (by node id or stream id, as"
            + " weft proxy-status lists them).")
final class ConfigDumpCommand implements Callable<Integer> {

  @Parameters(paramLabel = "PROXY", description = "The proxy's node id or stream id.")
  String proxy;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (proxy.isBlank()) {
      throw new CliException("PROXY is empty; weft proxy-status lists the connected proxies");
    }
    JsonNode dump =
        cli.api()
            .get("/debug/config_dump?proxy=" + URLEncoder.encode(proxy, StandardCharsets.UTF_8));
    spec.commandLine()
        .getOut()
        .println(WeftApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(dump));
    return 0;
  }
}
