package dev.weft.controller;

import dev.weft.api.policy.MutualTlsMode;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.MutualTls;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.Failures;
import dev.weft.registry.MeshRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Wires the config distributor to the registry and serves it over ADS. */
@Configuration(proxyBeanMethods = false)
class XdsConfiguration {

  @Bean(destroyMethod = "close")
  ConfigDistributor configDistributor(
      MeshRegistry registry, MeterRegistry meters, WeftProperties properties) {
    WeftProperties.Xds xds = properties.xds();
    WeftProperties.Xds.Limits limits = xds.limits();
    ConfigDistributor.Builder builder =
        ConfigDistributor.builder(registry)
            .meterRegistry(meters)
            .clusterDomain(xds.clusterDomain())
            .quietPeriod(xds.quietPeriod())
            .maxDelay(xds.maxDelay())
            .mutualTls(
                new MutualTls(
                    switch (xds.mtls()) {
                      case DISABLED -> MutualTlsMode.DISABLE;
                      case PERMISSIVE -> MutualTlsMode.PERMISSIVE;
                      case STRICT -> MutualTlsMode.STRICT;
                    },
                    properties.ca().trustDomain()));
    limit(
        "weft.xds.limits.max-names-per-request",
        () -> builder.maxNamesPerRequest(limits.maxNamesPerRequest()));
    limit(
        "weft.xds.limits.max-names-per-stream",
        () -> builder.maxNamesPerStream(limits.maxNamesPerStream()));
    limit("weft.xds.limits.max-name-length", () -> builder.maxNameLength(limits.maxNameLength()));
    if (limits.maxNamesPerStream() < limits.maxNamesPerRequest()) {
      throw new InvalidSettingException(
          "weft.xds.limits.max-names-per-stream",
          limits.maxNamesPerStream()
              + " is less than weft.xds.limits.max-names-per-request ("
              + limits.maxNamesPerRequest()
              + "): a stream could not subscribe to what one request may name",
          "Raise it to at least max-names-per-request (four times it fits a proxy that names"
              + " that many of each type).",
          null);
    }
    return builder.build();
  }

  /**
   * Applies a limit, reporting a value the distributor or the server rejects as the property's
   * problem rather than with a stack trace.
   */
  private static <T> T limit(String property, java.util.function.Supplier<T> apply) {
    try {
      return apply.get();
    } catch (IllegalArgumentException e) {
      throw new InvalidSettingException(
          property,
          e.getMessage(),
          "Choose a value within the limits the message gives (--" + property + "=VALUE).",
          e);
    }
  }

  /**
   * The ADS server. Standalone, shutdown ends streams at once: there is no other replica for
   * proxies to move to, and Ctrl-C should not wait.
   */
  @Bean
  XdsServerLifecycle xdsServer(
      ConfigDistributor distributor, WeftProperties properties, Environment environment) {
    return new XdsServerLifecycle(
        distributor,
        properties.xds(),
        KubernetesMode.active(environment) ? properties.xds().drainPeriod() : Duration.ZERO);
  }

  /**
   * Serves ADS while the application runs. On shutdown it drains: it takes no new streams and ends
   * the open ones spread over {@code weft.xds.drain-period}, so that proxies move to other replicas
   * a few at a time, while the registry's source (a later phase) still feeds them. The drain runs
   * on a thread of its own, so the CA server and the leader election stop meanwhile. The server
   * stops before the distributor closes (beans are destroyed after lifecycles stop), so streams end
   * before the threads that serve them.
   */
  static final class XdsServerLifecycle implements SmartLifecycle {
    private final ConfigDistributor distributor;
    private final WeftProperties.Xds settings;
    private final Duration drainPeriod;
    private volatile XdsServer server;

    XdsServerLifecycle(
        ConfigDistributor distributor, WeftProperties.Xds settings, Duration drainPeriod) {
      this.distributor = distributor;
      this.settings = settings;
      this.drainPeriod = drainPeriod;
    }

    @Override
    public void start() {
      XdsServer.Builder builder = limits(XdsServer.builder(distributor), settings.limits());
      try {
        builder.address(settings.address());
      } catch (IllegalArgumentException e) {
        throw new InvalidSettingException(
            "weft.xds.address",
            e.getMessage(),
            "Give an IP address, such as 127.0.0.1, or leave it empty for every address.",
            e);
      }
      try {
        server =
            builder
                .port(settings.port())
                .maxConnectionAge(settings.maxStreamAge(), settings.maxStreamAgeGrace())
                .start();
      } catch (UncheckedIOException e) {
        throw new InvalidSettingException(
            "weft.xds.port",
            e.getMessage() + ": " + Failures.describe(e),
            "Stop what listens on it, or choose another port (--weft.xds.port=PORT; 0 picks a"
                + " free one).",
            e);
      }
    }

    private static XdsServer.Builder limits(
        XdsServer.Builder builder, WeftProperties.Xds.Limits limits) {
      long messageSize = limits.maxMessageSize().toBytes();
      limit(
          "weft.xds.limits.max-message-size",
          () -> builder.maxMessageSize((int) Math.min(messageSize, Integer.MAX_VALUE)));
      return limit(
          "weft.xds.limits.max-streams-per-connection",
          () -> builder.maxStreamsPerConnection(limits.maxStreamsPerConnection()));
    }

    @Override
    public int getPhase() {
      return Phases.SERVERS;
    }

    @Override
    public void stop(Runnable callback) {
      XdsServer running = server;
      server = null;
      if (running == null) {
        callback.run();
        return;
      }
      Thread drain =
          new Thread(
              () -> {
                try {
                  running.drain(drainPeriod);
                } finally {
                  callback.run();
                }
              },
              "weft-xds-drain");
      drain.start();
    }

    @Override
    public void stop() {
      XdsServer running = server;
      server = null;
      if (running != null) {
        running.drain(drainPeriod);
      }
    }

    @Override
    public boolean isRunning() {
      return server != null;
    }

    /** The port ADS is served on. */
    int port() {
      XdsServer running = server;
      if (running == null) {
        throw new IllegalStateException("the xDS server is not running");
      }
      return running.port();
    }

    /** What bootstraps tell workloads: the configured address, or localhost and the port. */
    String advertisedAddress() {
      return settings.advertisedAddress().isEmpty()
          ? "localhost:" + port()
          : settings.advertisedAddress();
    }
  }
}
