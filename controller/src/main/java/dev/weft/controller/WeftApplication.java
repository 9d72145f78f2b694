package dev.weft.controller;

import dev.weft.ca.AgentMain;
import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Starts the Weft control plane; {@code bootstrap ...} prints a workload's xDS bootstrap instead,
 * and {@code agent ...} runs the workload agent ({@link AgentMain}'s options), as the sidecar
 * injector's {@code weft-agent} container does with this image.
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
    SpringApplication.run(WeftApplication.class, args);
  }
}
