package dev.weft.controller;

import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Defaults that depend on where Weft runs. Standalone, it listens on loopback only: its HTTP ports
 * (the debug API lists every address and identity of the mesh), its plaintext xDS port and, when
 * turned on, its admission webhooks; a laptop's mesh is nobody else's. In a cluster, every port
 * listens on the Pod's addresses, the debug API asks for a token instead, and there is no plaintext
 * xDS port: proxies use the mutual TLS port, where a proxy is who its certificate says (proxyless
 * gRPC through its workload agent).
 *
 * <p>The defaults go last, so any setting (command line, environment, application.yaml, the chart's
 * ConfigMap) wins. Runs after the config files are read, since they may set {@code weft.mode}.
 */
final class ModeDefaults implements EnvironmentPostProcessor, Ordered {

  static final String SOURCE = "weft-mode-defaults";

  private static final String LOOPBACK = "127.0.0.1";

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    if (KubernetesMode.active(environment)) {
      environment
          .getPropertySources()
          .addLast(new MapPropertySource(SOURCE, Map.of("weft.xds.port", -1)));
      return;
    }
    environment
        .getPropertySources()
        .addLast(
            new MapPropertySource(
                SOURCE,
                Map.of(
                    "server.address", LOOPBACK,
                    "management.server.address", LOOPBACK,
                    "weft.xds.address", LOOPBACK,
                    "weft.webhooks.address", LOOPBACK)));
  }

  @Override
  public int getOrder() {
    return ConfigDataEnvironmentPostProcessor.ORDER + 1;
  }
}
