package dev.weft.controller;

import dev.weft.ca.AgentMain;
import dev.weft.cli.WeftCli;
import java.io.PrintWriter;
import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Starts the Weft control plane; {@code bootstrap ...} prints a workload's xDS bootstrap instead,
 * {@code agent ...} runs the workload agent ({@link AgentMain}'s options), as the sidecar
 * injector's {@code weft-agent} container does with this image, and the {@link WeftCli} commands
 * ({@code proxy-status}, {@code shift}, ..., or any after {@code cli}) run the CLI, so that this
 * one jar is the {@code weft} command too (scripts/kubectl-weft).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class WeftApplication {

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("bootstrap")) {
      System.exit(BootstrapCommand.run(Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && args[0].equals("agent")) {
      AgentMain.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length > 0 && (args[0].equals("cli") || WeftCli.COMMANDS.contains(args[0]))) {
      // "cli" leads the kubectl-weft launcher's arguments, so that `kubectl weft --help` is the
      // CLI's help rather than the start of a control plane.
      String[] cliArgs = args[0].equals("cli") ? Arrays.copyOfRange(args, 1, args.length) : args;
      System.exit(
          WeftCli.run(
              cliArgs, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }
    SpringApplication.run(WeftApplication.class, args);
  }
}
