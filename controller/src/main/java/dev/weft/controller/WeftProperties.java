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
 * @param ca settings of the certificate authority
 */
@ConfigurationProperties(prefix = "weft")
public record WeftProperties(
    @DefaultValue("auto") Mode mode,
    @DefaultValue("examples/demo") Path configDir,
    @DefaultValue Kubernetes kubernetes,
    @DefaultValue Xds xds,
    @DefaultValue Ca ca) {

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
   * @param serviceAccount the control plane's own ServiceAccount, in {@code controlPlaneNamespace}:
   *     the CA serves as its SPIFFE identity
   * @param leaderElection how replicas elect the one that runs the tasks that must happen once
   */
  public record Kubernetes(
      @DefaultValue List<String> namespaces,
      @DefaultValue("weft-system") String controlPlaneNamespace,
      @DefaultValue("") String identity,
      @DefaultValue("weft") String serviceAccount,
      @DefaultValue LeaderElection leaderElection) {}

  /**
   * The leader election, on a Lease in {@code weft.kubernetes.control-plane-namespace}. The
   * defaults are client-go's, which operators know: a new leader within about 15 s of a crash,
   * renewals every 2 s.
   *
   * @param leaseName the Lease's name
   * @param leaseDuration how long a leader that stopped renewing keeps the Lease
   * @param renewDeadline how long the leader keeps trying to renew before it steps down
   * @param retryPeriod how often candidates try to acquire, and the leader renews
   */
  public record LeaderElection(
      @DefaultValue("weft-leader") String leaseName,
      @DefaultValue("15s") Duration leaseDuration,
      @DefaultValue("10s") Duration renewDeadline,
      @DefaultValue("2s") Duration retryPeriod) {}

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
   * @param mtls whether the config sent to workloads makes them talk mutual TLS to each other
   * @param maxStreamAge how long a proxy's connection may last (jittered by ±10 %) before it is
   *     asked to reconnect, so that proxies spread over replicas after a scale-up or a rollout
   * @param maxStreamAgeGrace how long a connection asked to reconnect may finish its streams before
   *     it is closed
   * @param drainPeriod on shutdown, the time over which open streams are closed, spread out so that
   *     their proxies reconnect to other replicas a few at a time
   */
  public record Xds(
      @DefaultValue("15010") int port,
      @DefaultValue("") String advertisedAddress,
      @DefaultValue("cluster.local") String clusterDomain,
      @DefaultValue("10ms") Duration quietPeriod,
      @DefaultValue("100ms") Duration maxDelay,
      @DefaultValue("disabled") Mtls mtls,
      @DefaultValue("30m") Duration maxStreamAge,
      @DefaultValue("10s") Duration maxStreamAgeGrace,
      @DefaultValue("10s") Duration drainPeriod) {}

  /** Whether workloads talk mutual TLS with SPIFFE identities of {@code weft.ca.trust-domain}. */
  public enum Mtls {
    /** Plaintext between workloads. */
    DISABLED,
    /** Clusters ask for the server's SPIFFE ID; xDS-enabled servers require client certificates. */
    STRICT
  }

  /**
   * The certificate authority: issues X.509-SVIDs to workloads over its CSR service (gRPC over
   * TLS).
   *
   * @param enabled whether the CA runs at all
   * @param port the CSR service's port; 0 picks a free one
   * @param trustDomain the SPIFFE trust domain of every identity issued
   * @param defaultLifetime the lifetime of a certificate whose request names none
   * @param maxLifetime the longest lifetime a request may ask for (longer is refused)
   * @param dataDir standalone: the directory the root's key material and rotation state are kept in
   * @param bootstrapTokens standalone: a file of {@code <token> <namespace> <serviceAccount>} lines
   *     that authenticate a workload's first request; empty means none (only renewals with a
   *     current certificate are accepted)
   * @param secretName Kubernetes: the Secret, in {@code weft.kubernetes.control-plane-namespace},
   *     the key material is kept in
   * @param tokenAudiences Kubernetes: the audiences a ServiceAccount token must be bound to; empty
   *     means the API server's default audience
   * @param dnsNames DNS names in the CSR service's own certificate, besides its SPIFFE ID
   * @param trustBundleConfigMap Kubernetes: the ConfigMap the leader keeps the trust bundle in (key
   *     {@code ca.crt}), in every mesh namespace, for workloads to mount; empty means none
   */
  public record Ca(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("15012") int port,
      @DefaultValue("cluster.local") String trustDomain,
      @DefaultValue("1h") Duration defaultLifetime,
      @DefaultValue("24h") Duration maxLifetime,
      @DefaultValue("data/ca") Path dataDir,
      @DefaultValue("") String bootstrapTokens,
      @DefaultValue("weft-ca") String secretName,
      @DefaultValue List<String> tokenAudiences,
      @DefaultValue({"weft.weft-system.svc", "localhost"}) List<String> dnsNames,
      @DefaultValue("weft-ca-root-cert") String trustBundleConfigMap) {}
}
