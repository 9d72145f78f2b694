package dev.weft.controller;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** Starts the Weft control plane. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class WeftApplication {

  public static void main(String[] args) {
    SpringApplication.run(WeftApplication.class, args);
  }
}
