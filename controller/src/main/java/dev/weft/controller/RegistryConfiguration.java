package dev.weft.controller;

import dev.weft.registry.DirectorySource;
import dev.weft.registry.KubernetesSource;
import dev.weft.registry.MeshRegistry;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.cloud.CloudPlatform;
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
    if (kubernetesMode(properties, environment)) {
      KubernetesClient client = clients.client();
      log.info(
          "registry source: Kubernetes at {}, namespaces {}",
          client.getMasterUrl(),
          properties.kubernetes().namespaces().isEmpty()
              ? "all"
              : properties.kubernetes().namespaces());
      KubernetesSource source =
          new KubernetesSource(
              client, properties.kubernetes().namespaces(), registry.registerSource("kubernetes"));
      return new RegistrySourceLifecycle(source::start, source);
    }
    log.info("registry source: directory {} (standalone)", properties.configDir().toAbsolutePath());
    DirectorySource source =
        new DirectorySource(properties.configDir(), registry.registerSource("directory"));
    return new RegistrySourceLifecycle(source::start, source);
  }

  /** Whether the registry reads Kubernetes (else a directory). */
  static boolean kubernetesMode(WeftProperties properties, Environment environment) {
    return switch (properties.mode()) {
      case KUBERNETES -> true;
      case STANDALONE -> false;
      case AUTO -> CloudPlatform.getActive(environment) == CloudPlatform.KUBERNETES;
    };
  }

  /**
   * Owns the Kubernetes client when Weft builds it, and builds it only when Kubernetes mode asks
   * for it, so that standalone mode never looks for a kubeconfig.
   */
  static final class KubernetesClientHolder implements AutoCloseable {
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

    synchronized KubernetesClient client() {
      if (client == null) {
        client = new KubernetesClientBuilder().build();
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

  /** Starts the registry's source with the application and stops it on shutdown. */
  static final class RegistrySourceLifecycle implements SmartLifecycle {
    private final Runnable start;
    private final AutoCloseable stop;
    private volatile boolean running;

    RegistrySourceLifecycle(Runnable start, AutoCloseable stop) {
      this.start = start;
      this.stop = stop;
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
