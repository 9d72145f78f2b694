package dev.weft.controller;

import io.fabric8.kubernetes.client.Config;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/**
 * Wires replica membership ({@link ReplicaLeases}, Kubernetes mode only) and the calls to the other
 * replicas ({@link ReplicaPeers}) that let the status writer and {@code /debug/proxies} count the
 * proxies of every replica, not only those connected to this one. Standalone there is one process
 * and no peers.
 */
@Configuration(proxyBeanMethods = false)
class ReplicaConfiguration {

  /** {@code http://<IPv6 address>:<port>}, as the chart writes it with an IPv6 Pod IP. */
  private static final Pattern IPV6_HOST =
      Pattern.compile("(https?://)([0-9A-Fa-f]*:[0-9A-Fa-f:.]*):(\\d+/?)");

  @Bean
  @Conditional(KubernetesMode.class)
  ReplicaLeases replicaLeases(
      WeftProperties properties, RegistryConfiguration.KubernetesClientHolder clients) {
    WeftProperties.Replicas configured = properties.kubernetes().replicas();
    WeftProperties.Replicas settings =
        new WeftProperties.Replicas(
            configured.leasePrefix(),
            peerAddress(configured.peerAddress()),
            configured.leaseDuration(),
            configured.renewPeriod(),
            configured.peerTimeout());
    checkPeerAddress(settings.peerAddress());
    if (settings.renewPeriod().compareTo(settings.leaseDuration()) >= 0) {
      throw new InvalidSettingException(
          "weft.kubernetes.replicas.renew-period",
          settings.renewPeriod()
              + " is not shorter than the lease duration "
              + settings.leaseDuration(),
          "renew the Lease several times per weft.kubernetes.replicas.lease-duration",
          null);
    }
    return new ReplicaLeases(
        clients.client(),
        properties.kubernetes().controlPlaneNamespace(),
        identity(properties),
        settings,
        DaemonThreads.singleThread("weft-replica-lease"),
        Clock.systemUTC());
  }

  @Bean
  ReplicaPeers replicaPeers(
      WeftProperties properties,
      ObjectProvider<ReplicaLeases> leases,
      RegistryConfiguration.KubernetesClientHolder clients,
      JsonMapper json) {
    ReplicaLeases membership = leases.getIfAvailable();
    if (membership == null) {
      return ReplicaPeers.none(identity(properties), json);
    }
    return new ReplicaPeers(
        membership.identity(),
        membership::peers,
        token(clients),
        properties.kubernetes().replicas().peerTimeout(),
        json);
  }

  /**
   * This replica's name: {@code weft.kubernetes.identity} (the chart sets the Pod's name), else the
   * host name, which in a Pod is its name too.
   */
  static String identity(WeftProperties properties) {
    if (!properties.kubernetes().identity().isEmpty()) {
      return properties.kubernetes().identity();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "weft-" + ProcessHandle.current().pid();
    }
  }

  /**
   * The bearer token of the replica's Kubernetes client (in a Pod, its ServiceAccount's, which the
   * client re-reads as the kubelet rotates it), read at each call.
   */
  private static Supplier<String> token(RegistryConfiguration.KubernetesClientHolder clients) {
    return () -> {
      Config config = clients.client().getConfiguration();
      if (config.getOauthTokenProvider() != null) {
        return config.getOauthTokenProvider().getToken();
      }
      if (config.getOauthToken() != null && !config.getOauthToken().isBlank()) {
        return config.getOauthToken();
      }
      return config.getAutoOAuthToken() == null ? "" : config.getAutoOAuthToken();
    };
  }

  /**
   * The peer address with an IPv6 host in brackets, as a URL needs it: the chart writes {@code
   * http://$(POD_IP):8080}, and a Pod's IP address may be IPv6.
   */
  static String peerAddress(String configured) {
    Matcher unbracketed = IPV6_HOST.matcher(configured);
    return unbracketed.matches()
        ? unbracketed.group(1) + "[" + unbracketed.group(2) + "]:" + unbracketed.group(3)
        : configured;
  }

  static void checkPeerAddress(String address) {
    if (address.isEmpty()) {
      return;
    }
    String problem = null;
    try {
      URI uri = new URI(address);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
        problem = "\"" + address + "\" is not an http:// or https:// URL";
      } else if (uri.getHost() == null) {
        problem = "\"" + address + "\" names no host";
      }
    } catch (URISyntaxException e) {
      problem = "\"" + address + "\" is not a URL: " + e.getReason();
    }
    if (problem != null) {
      throw new InvalidSettingException(
          "weft.kubernetes.replicas.peer-address",
          problem,
          "set it to where the other replicas reach this one's HTTP port, such as"
              + " http://$(POD_IP):8080",
          null);
    }
  }
}
