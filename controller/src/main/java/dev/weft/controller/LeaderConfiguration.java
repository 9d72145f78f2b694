package dev.weft.controller;

import dev.weft.ca.Pem;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.MeshRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/**
 * Wires the work that must happen once across replicas (every {@link LeaderElection.LeaderTask}
 * bean: route and policy status writes, the CA's root rotation, the trust bundle) behind a
 * Kubernetes leader election. Standalone there are no replicas and no status to write: the debug
 * API shows the same conditions, and the process runs its other leader tasks itself.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(KubernetesMode.class)
class LeaderConfiguration {

  @Bean(destroyMethod = "close")
  ConfigStatusWriter configStatusWriter(
      RegistryConfiguration.KubernetesClientHolder clients,
      MeshRegistry registry,
      ConfigDistributor distributor,
      ReplicaPeers peers,
      JsonMapper json) {
    return new ConfigStatusWriter(
        clients.client(),
        registry,
        distributor,
        keys -> ReplicaRollouts.ask(peers, keys, json),
        DaemonThreads.singleThread("weft-config-status"),
        Clock.systemUTC());
  }

  /** The trust bundle in every mesh namespace; absent without a CA or a ConfigMap name. */
  @Bean(destroyMethod = "close")
  @ConditionalOnExpression(
      "${weft.ca.enabled:true} and '${weft.ca.trust-bundle-config-map:weft-ca-root-cert}' != ''")
  TrustBundlePublisher trustBundlePublisher(
      WeftProperties properties,
      RegistryConfiguration.KubernetesClientHolder clients,
      CaLifecycle ca) {
    return new TrustBundlePublisher(
        clients.client(),
        properties.kubernetes().namespaces(),
        properties.ca().trustBundleConfigMap(),
        () -> ca.authority().map(authority -> Pem.certificates(authority.trustBundle())),
        DaemonThreads.singleThread("weft-trust-bundle"));
  }

  @Bean
  LeaderElection leaderElection(
      WeftProperties properties,
      RegistryConfiguration.KubernetesClientHolder clients,
      ObjectProvider<LeaderElection.LeaderTask> tasks) {
    return new LeaderElection(
        clients.client(),
        properties.kubernetes().controlPlaneNamespace(),
        ReplicaConfiguration.identity(properties),
        properties.kubernetes().leaderElection(),
        tasks.orderedStream().toList());
  }

  /** {@code weft_leader}: 1 on the replica that leads; a sum of 0 over replicas is an alert. */
  @Bean
  MeterBinder leaderMetrics(LeaderElection election) {
    return meters ->
        Gauge.builder("weft.leader", election, e -> e.isLeader() ? 1 : 0)
            .description("1 while this replica holds the leader Lease, else 0")
            .register(meters);
  }
}
