package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.MeshRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Wires the work that must happen once across replicas (route and policy status writes, and every
 * {@link LeaderElection.LeaderTask} bean, such as the CA's root rotation) behind a Kubernetes
 * leader election. Standalone there are no replicas and no status to write: the debug API shows the
 * same conditions.
 */
@Configuration(proxyBeanMethods = false)
class LeaderConfiguration {

  @Bean
  SmartLifecycle leaderTasks(
      WeftProperties properties,
      Environment environment,
      RegistryConfiguration.KubernetesClientHolder clients,
      MeshRegistry registry,
      ConfigDistributor distributor,
      ObjectProvider<LeaderElection.LeaderTask> otherTasks) {
    if (!RegistryConfiguration.kubernetesMode(properties, environment)) {
      return new Idle();
    }
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "weft-config-status");
              thread.setDaemon(true);
              return thread;
            });
    ConfigStatusWriter statuses =
        new ConfigStatusWriter(
            clients.client(), registry, distributor, executor, Clock.systemUTC());
    LeaderElection election =
        new LeaderElection(
            clients.client(),
            properties.kubernetes().controlPlaneNamespace(),
            identity(properties),
            Stream.concat(Stream.of(statuses), otherTasks.orderedStream()).toList());
    return new SmartLifecycle() {
      @Override
      public void start() {
        election.start();
      }

      @Override
      public void stop() {
        election.stop();
        executor.shutdownNow();
      }

      @Override
      public boolean isRunning() {
        return election.isRunning();
      }
    };
  }

  private static String identity(WeftProperties properties) {
    if (!properties.kubernetes().identity().isEmpty()) {
      return properties.kubernetes().identity();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "weft-" + ProcessHandle.current().pid();
    }
  }

  /** Standalone: nothing to lead. */
  private static final class Idle implements SmartLifecycle {
    private volatile boolean running;

    @Override
    public void start() {
      running = true;
    }

    @Override
    public void stop() {
      running = false;
    }

    @Override
    public boolean isRunning() {
      return running;
    }
  }
}
