package dev.weft.controller;

import dev.weft.api.policy.MutualTlsMode;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.MutualTls;
import dev.weft.distributor.XdsServer;
import dev.weft.registry.Failures;
import dev.weft.registry.MeshRegistry;
import dev.weft.telemetry.TelemetryCollector;
import io.grpc.ServerServiceDefinition;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Wires the config distributor to the registry and serves it over ADS. */
@Configuration(proxyBeanMethods = false)
class XdsConfiguration {

  private static final Logger log = LoggerFactory.getLogger(XdsConfiguration.class);

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
            .staleAfter(xds.staleAfter())
            // A Telemetry there is the mesh's: Weft's own namespace, as Istio's root namespace.
            .rootNamespace(properties.kubernetes().controlPlaneNamespace())
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
  static <T> T limit(String property, java.util.function.Supplier<T> apply) {
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
      ConfigDistributor distributor,
      WeftProperties properties,
      Environment environment,
      ObjectProvider<TelemetryCollector> telemetry) {
    return new XdsServerLifecycle(
        distributor,
        properties.xds(),
        KubernetesMode.active(environment) ? properties.xds().drainPeriod() : Duration.ZERO,
        telemetry.stream().flatMap(collector -> collector.services().stream()).toList());
  }

  /**
   * Serves plaintext ADS while the application runs, unless {@code weft.xds.port} is -1 (the
   * default in a cluster, where proxies use the mutual TLS port the CA shares). On shutdown it
   * drains every stream, on either port: it takes no new streams and ends the open ones spread over
   * {@code weft.xds.drain-period}, so that proxies move to other replicas a few at a time, while
   * the registry's source (a later phase) still feeds them and the CA's port (a later phase too)
   * still takes reconnecting streams' certificates. The drain runs on a thread of its own, so the
   * leader election stops meanwhile. The server stops before the distributor closes (beans are
   * destroyed after lifecycles stop), so streams end before the threads that serve them.
   */
  static final class XdsServerLifecycle implements SmartLifecycle {
    /** The port of the workload agent's xDS proxy, which bootstraps name in a cluster. */
    static final String AGENT_PROXY = "127.0.0.1:15010";

    private final ConfigDistributor distributor;
    private final WeftProperties.Xds settings;
    private final Duration drainPeriod;
    private final List<ServerServiceDefinition> otherServices;
    private volatile XdsServer server;
    private volatile boolean running;

    /**
     * @param otherServices served on the same port: the telemetry collector's receivers (OTLP,
     *     Envoy's Metrics and Access Log Services), which proxies reach where they reach xDS
     */
    XdsServerLifecycle(
        ConfigDistributor distributor,
        WeftProperties.Xds settings,
        Duration drainPeriod,
        List<ServerServiceDefinition> otherServices) {
      this.distributor = distributor;
      this.settings = settings;
      this.drainPeriod = drainPeriod;
      this.otherServices = List.copyOf(otherServices);
    }

    @Override
    public void start() {
      running = true;
      if (settings.port() < 0) {
        log.info("no plaintext xDS port (weft.xds.port=-1): proxies use the mutual TLS port");
        return;
      }
      XdsServer.Builder builder = limits(XdsServer.builder(distributor), settings.limits());
      otherServices.forEach(builder::service);
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
      Thread drain =
          new Thread(
              () -> {
                try {
                  stop();
                } finally {
                  callback.run();
                }
              },
              "weft-xds-drain");
      drain.start();
    }

    @Override
    public void stop() {
      running = false;
      XdsServer plaintext = server;
      server = null;
      if (plaintext != null) {
        plaintext.drain(drainPeriod);
        return;
      }
      try {
        distributor
            .endStreams(drainPeriod)
            .get(drainPeriod.toMillis() + 2_000, TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        log.warn("draining xDS did not finish in {}: {}", drainPeriod, e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public boolean isRunning() {
      return running;
    }

    /** The plaintext port ADS is served on, if there is one. */
    OptionalInt port() {
      XdsServer plaintext = server;
      return plaintext == null ? OptionalInt.empty() : OptionalInt.of(plaintext.port());
    }

    /**
     * What bootstraps tell workloads: the configured address; else this process's plaintext port on
     * localhost; else, in a cluster without one, the workload agent's xDS proxy in the Pod.
     */
    String advertisedAddress() {
      if (!settings.advertisedAddress().isEmpty()) {
        return settings.advertisedAddress();
      }
      OptionalInt port = port();
      return port.isPresent() ? "localhost:" + port.getAsInt() : AGENT_PROXY;
    }
  }
}
