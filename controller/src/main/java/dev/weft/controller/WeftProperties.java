package dev.weft.controller;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Weft's configuration, bound once from {@code weft.*} properties and passed down.
 *
 * @param mode where the registry reads the mesh from
 * @param configDir the directory of Kubernetes-format YAML read in standalone mode
 * @param kubernetes settings for Kubernetes mode
 * @param xds settings of the xDS server
 */
@ConfigurationProperties(prefix = "weft")
public record WeftProperties(
    @DefaultValue("auto") Mode mode,
    @DefaultValue("examples/demo") Path configDir,
    @DefaultValue Kubernetes kubernetes,
    @DefaultValue Xds xds) {

  /** Where the registry reads the mesh from. */
  public enum Mode {
    /** Kubernetes when running in a cluster, standalone otherwise. */
    AUTO,
    /** Watch the Kubernetes API through informers. */
    KUBERNETES,
    /** Read and watch {@code weft.config-dir}. */
    STANDALONE
  }

  /**
   * Settings for Kubernetes mode.
   *
   * @param namespaces the namespaces to watch; empty means all
   * @param controlPlaneNamespace the namespace Weft runs in: its leader Lease lives there
   * @param identity this replica's name in the leader election (the Helm chart sets the Pod name);
   *     empty means the host name
   */
  public record Kubernetes(
      @DefaultValue List<String> namespaces,
      @DefaultValue("weft-system") String controlPlaneNamespace,
      @DefaultValue("") String identity) {}

  /**
   * The xDS server.
   *
   * @param port the plaintext ADS port; 0 picks a free one
   * @param advertisedAddress {@code host:port} that bootstraps tell workloads to reach; empty means
   *     {@code localhost} and the actual port
   * @param clusterDomain the DNS domain of Service names ({@code <svc>.<ns>.svc.<domain>})
   * @param quietPeriod how long the registry must be quiet before a change other than endpoints is
   *     pushed
   * @param maxDelay the longest such a change waits for quiet
   */
  public record Xds(
      @DefaultValue("15010") int port,
      @DefaultValue("") String advertisedAddress,
      @DefaultValue("cluster.local") String clusterDomain,
      @DefaultValue("10ms") Duration quietPeriod,
      @DefaultValue("100ms") Duration maxDelay) {}
}
