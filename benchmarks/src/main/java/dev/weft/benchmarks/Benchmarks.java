package dev.weft.benchmarks;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the benchmark harnesses: {@code java -jar weft-benchmarks.jar <name> ...}. */
@Command(
    name = "weft-benchmarks",
    mixinStandardHelpOptions = true,
    subcommands = {
      RegistryBenchmark.class,
      CaBenchmark.class,
      HostileClients.class,
      LoadHarness.class,
      AuthorizationBenchmark.class,
      ControlPlaneCommand.class,
      TelemetryBenchmark.class,
      EndpointChangesBenchmark.class,
      FloorBenchmark.class,
      FloorControlPlaneCommand.class
    },
    description = "Measures Weft and prints the figures (and writes them as JSON with --json).")
public final class Benchmarks {

  private Benchmarks() {}

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new Benchmarks());
  }
}
