package dev.weft.controller;

import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Starts the Weft control plane; {@code bootstrap ...} prints a workload's xDS bootstrap instead.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class WeftApplication {

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("bootstrap")) {
      System.exit(BootstrapCommand.run(Arrays.copyOfRange(args, 1, args.length)));
    }
    SpringApplication.run(WeftApplication.class, args);
  }
}
