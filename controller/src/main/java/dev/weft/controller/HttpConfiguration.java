package dev.weft.controller;

import com.github.benmanes.caffeine.cache.Ticker;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * The HTTP API's doors. In a cluster, {@code /debug/*} (every Pod address, ServiceAccount and label
 * of the mesh) and {@code /api/*} (the service graph: who talks to whom) need a Kubernetes token
 * that {@link DebugAccess} allows (the control plane's own ServiceAccount's among them: replicas
 * ask one another for their proxies' state); probes and metrics are on the management port, open,
 * as the kubelet and Prometheus expect. Standalone, both ports listen on loopback only ({@link
 * ModeDefaults}).
 */
@Configuration(proxyBeanMethods = false)
class HttpConfiguration {

  @Bean
  @Conditional(KubernetesMode.class)
  FilterRegistrationBean<DebugAccessFilter> debugAccess(
      WeftProperties properties, RegistryConfiguration.KubernetesClientHolder clients) {
    // Replicas ask one another for their proxies' state with their own ServiceAccount's token.
    List<String> serviceAccounts = new ArrayList<>(properties.http().debugServiceAccounts());
    serviceAccounts.add(
        properties.kubernetes().controlPlaneNamespace()
            + "/"
            + properties.kubernetes().serviceAccount());
    DebugAccess access =
        new DebugAccess(
            clients.client(),
            serviceAccounts,
            properties.http().debugGroups(),
            Ticker.systemTicker());
    FilterRegistrationBean<DebugAccessFilter> registration =
        new FilterRegistrationBean<>(new DebugAccessFilter(access));
    registration.addUrlPatterns("/debug/*", "/api/*");
    return registration;
  }
}
