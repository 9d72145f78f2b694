package dev.weft.controller;

import dev.weft.registry.DirectorySource;
import dev.weft.registry.KubernetesSource;
import dev.weft.registry.MeshRegistry;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Wires the service registry and the source it reads from: Kubernetes or a directory. */
@Configuration(proxyBeanMethods = false)
class RegistryConfiguration {

  private static final Logger log = LoggerFactory.getLogger(RegistryConfiguration.class);

  @Bean(destroyMethod = "close")
  MeshRegistry meshRegistry() {
    return MeshRegistry.create();
  }

  /**
   * The Kubernetes client, built from the in-cluster service account or the local kubeconfig. A
   * test can supply its own (a mock API server's) as a bean.
   */
  @Bean(destroyMethod = "close")
  KubernetesClientHolder kubernetesClientHolder(ObjectProvider<KubernetesClient> supplied) {
    KubernetesClient client = supplied.getIfAvailable();
    return client != null ? KubernetesClientHolder.supplied(client) : KubernetesClientHolder.lazy();
  }

  @Bean
  RegistrySourceLifecycle registrySource(
      WeftProperties properties,
      Environment environment,
      MeshRegistry registry,
      KubernetesClientHolder clients) {
    if (KubernetesMode.active(environment)) {
      KubernetesClient client = clients.client();
      log.info(
          "registry source: Kubernetes at {}, namespaces {}",
          client.getMasterUrl(),
          properties.kubernetes().namespaces().isEmpty()
              ? "all"
              : properties.kubernetes().namespaces());
      KubernetesSource source =
          new KubernetesSource(
              client,
              properties.kubernetes().namespaces(),
              registry.registerSource("kubernetes"),
              properties.kubernetes().gateways());
      return new RegistrySourceLifecycle(
          source::start,
          source,
          () -> source.problem().map(p -> "API server " + client.getMasterUrl() + ": " + p));
    }
    log.info("registry source: directory {} (standalone)", properties.configDir().toAbsolutePath());
    DirectorySource source =
        new DirectorySource(properties.configDir(), registry.registerSource("directory"));
    Runnable start =
        () -> {
          try {
            source.start();
          } catch (IllegalArgumentException e) {
            throw new InvalidSettingException(
                "weft.config-dir",
                e.getMessage(),
                "Point it at a directory of Kubernetes YAML (--weft.config-dir=PATH), or run"
                    + " against a cluster (--weft.mode=kubernetes).",
                e);
          }
        };
    return new RegistrySourceLifecycle(start, source, Optional::empty);
  }

  /**
   * Owns the Kubernetes client when Weft builds it, and builds it only when Kubernetes mode asks
   * for it, so that standalone mode never looks for a kubeconfig.
   */
  static final class KubernetesClientHolder implements AutoCloseable {
    static final String USER_AGENT = "weft-controller";
    private static final int REQUEST_RETRIES = 2;

    private final boolean owned;
    private KubernetesClient client;

    private KubernetesClientHolder(KubernetesClient client, boolean owned) {
      this.client = client;
      this.owned = owned;
    }

    /** Uses a client someone else owns and closes. */
    static KubernetesClientHolder supplied(KubernetesClient client) {
      return new KubernetesClientHolder(client, false);
    }

    /** Builds a client on first use and closes it on shutdown. */
    static KubernetesClientHolder lazy() {
      return new KubernetesClientHolder(null, true);
    }

    /**
     * The client, configured the usual way (in a cluster from the Pod's service account, else from
     * the kubeconfig), with Weft's own User-Agent so that API server audit logs name it.
     *
     * <p>Fabric8 retries a failed request ten times by default, backing off from 100 ms, so that
     * one call to an API server that is away takes about a minute to fail: longer than the leader
     * election's renew deadline. Every caller in Weft has its own retry (informers, the leader
     * election, the CA, status passes), so a request is retried twice only, over a blip.
     */
    synchronized KubernetesClient client() {
      if (client == null) {
        client =
            new KubernetesClientBuilder()
                .withConfig(
                    new ConfigBuilder()
                        .withUserAgent(USER_AGENT)
                        .withRequestRetryBackoffLimit(REQUEST_RETRIES)
                        .build())
                .build();
      }
      return client;
    }

    @Override
    public synchronized void close() {
      if (owned && client != null) {
        client.close();
      }
    }
  }

  /**
   * Starts the registry's source with the application and stops it on shutdown, after the xDS
   * server has drained (a later phase), so that streams still get changes while they drain.
   */
  static final class RegistrySourceLifecycle implements SmartLifecycle {
    private final Runnable start;
    private final AutoCloseable stop;
    private final Supplier<Optional<String>> problem;
    private volatile boolean running;

    RegistrySourceLifecycle(
        Runnable start, AutoCloseable stop, Supplier<Optional<String>> problem) {
      this.start = start;
      this.stop = stop;
      this.problem = problem;
    }

    /** Why the source has not synced, when it knows: what its last attempt to list failed on. */
    Optional<String> problem() {
      return problem.get();
    }

    @Override
    public int getPhase() {
      return Phases.SOURCES;
    }

    @Override
    public void start() {
      start.run();
      running = true;
    }

    @Override
    public void stop() {
      running = false;
      try {
        stop.close();
      } catch (Exception e) {
        log.warn("stopping the registry source failed", e);
      }
    }

    @Override
    public boolean isRunning() {
      return running;
    }
  }
}
