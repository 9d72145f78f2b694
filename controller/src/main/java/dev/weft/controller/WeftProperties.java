package dev.weft.controller;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
 * @param http settings of the HTTP API
 * @param webhooks the HTTPS port the API server calls Weft's admission webhooks on
 * @param injection settings of the sidecar injection webhook
 * @param validation settings of the validating webhook
 * @param telemetry settings of the telemetry collector
 */
@ConfigurationProperties(prefix = "weft")
public record WeftProperties(
    @DefaultValue("auto") Mode mode,
    @DefaultValue("examples/demo") Path configDir,
    @DefaultValue Kubernetes kubernetes,
    @DefaultValue Xds xds,
    @DefaultValue Ca ca,
    @DefaultValue Http http,
    @DefaultValue Webhooks webhooks,
    @DefaultValue Injection injection,
    @DefaultValue Validation validation,
    @DefaultValue Telemetry telemetry) {

  /**
   * The telemetry collector (docs/telemetry.md): an OTLP metrics receiver on the xDS ports (the
   * plaintext one, and the CA's mutual TLS port, where a sender is who its certificate says) that
   * keeps service-to-service golden metrics for {@code /actuator/prometheus}.
   *
   * @param enabled whether the receiver is served at all
   * @param maxSeries golden-metric series kept at most; reports for more are counted in {@code
   *     weft_telemetry_series_overflow_total{stage="golden"}}
   * @param maxTrackedSeries senders' cumulative series remembered at most, to turn their totals
   *     into deltas; more are counted in {@code weft_telemetry_series_overflow_total{stage=
   *     "cumulative"}}
   * @param trackedSeriesIdleAfter how long a sender's series is remembered once it stops reporting
   *     it, when room is needed
   * @param maxDataPointsPerExport data points one export may carry; more is refused with {@code
   *     RESOURCE_EXHAUSTED}
   * @param window the longest window the service graph's query answers for
   * @param windowSlot the resolution of that window
   */
  public record Telemetry(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("10000") int maxSeries,
      @DefaultValue("100000") int maxTrackedSeries,
      @DefaultValue("10m") Duration trackedSeriesIdleAfter,
      @DefaultValue("10000") int maxDataPointsPerExport,
      @DefaultValue("1m") Duration window,
      @DefaultValue("5s") Duration windowSlot) {}

  /**
   * The HTTP API on {@code server.port}: the debug pages and bootstraps. (Probes and metrics are on
   * {@code management.server.port}.)
   *
   * @param debugServiceAccounts Kubernetes mode: the ServiceAccounts, as {@code namespace/name},
   *     whose tokens may read {@code /debug/*}
   * @param debugGroups Kubernetes mode: the groups whose members' tokens may read {@code /debug/*}
   */
  public record Http(
      @DefaultValue List<String> debugServiceAccounts,
      @DefaultValue("system:masters") List<String> debugGroups) {}

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
   * @param gateways whether to follow Gateways, GatewayClasses and the {@code kubernetes.io/tls}
   *     Secrets their HTTPS listeners serve (docs/envoy.md#gateways); off, Weft reads no Secret but
   *     its CA's
   * @param replicas how replicas find one another, so that rollout status and the debug API count
   *     the proxies of every replica
   */
  public record Kubernetes(
      @DefaultValue List<String> namespaces,
      @DefaultValue("weft-system") String controlPlaneNamespace,
      @DefaultValue("") String identity,
      @DefaultValue("weft") String serviceAccount,
      @DefaultValue LeaderElection leaderElection,
      @DefaultValue("false") boolean gateways,
      @DefaultValue Replicas replicas) {}

  /**
   * Replica membership: each replica keeps a Lease of its own, {@code
   * <lease-prefix>-replica-<identity>} in the control-plane namespace, that says where its HTTP API
   * is; the others ask it for what its proxies hold (docs/traffic.md#status).
   *
   * @param leasePrefix the start of the replicas' Lease names
   * @param peerAddress the base URL other replicas reach this one's HTTP API at, such as {@code
   *     http://10.1.2.3:8080} (the chart sets the Pod's IP address); empty: none, and the others
   *     report this replica as not answering
   * @param leaseDuration how long a replica's Lease counts after its last renewal: a replica that
   *     died without deleting it is ignored after this
   * @param renewPeriod how often a replica renews its Lease; shorter than {@code leaseDuration}
   * @param peerTimeout how long a replica waits for another's answer
   */
  public record Replicas(
      @DefaultValue("weft") String leasePrefix,
      @DefaultValue("") String peerAddress,
      @DefaultValue("15s") Duration leaseDuration,
      @DefaultValue("5s") Duration renewPeriod,
      @DefaultValue("1s") Duration peerTimeout) {}

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
   * @param address the IP address the plaintext ADS port listens on; empty means every address
   *     (standalone, the default is {@code 127.0.0.1})
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
   * @param drainPeriod Kubernetes mode: on shutdown, the time over which open streams are closed,
   *     spread out so that their proxies reconnect to other replicas a few at a time (standalone
   *     closes them at once)
   * @param limits what one xDS client may send; a client that sends more has its stream ended
   * @param staleAfter how long a proxy may lack configuration it should hold (unanswered, rejected,
   *     held back) before it counts in {@code weft_xds_proxies_stale}
   */
  public record Xds(
      @DefaultValue("15010") int port,
      @DefaultValue("") String address,
      @DefaultValue("") String advertisedAddress,
      @DefaultValue("cluster.local") String clusterDomain,
      @DefaultValue("10ms") Duration quietPeriod,
      @DefaultValue("100ms") Duration maxDelay,
      @DefaultValue("disabled") Mtls mtls,
      @DefaultValue("30m") Duration maxStreamAge,
      @DefaultValue("10s") Duration maxStreamAgeGrace,
      @DefaultValue("10s") Duration drainPeriod,
      @DefaultValue Limits limits,
      @DefaultValue("30s") Duration staleAfter) {

    /**
     * Limits on what one xDS client sends, so that no client can make the control plane hold an
     * unbounded amount of its input. The defaults fit the largest real meshes (a proxy watching
     * every Service of a 5,000-Service mesh, by two names each); raise them together.
     *
     * @param maxNamesPerRequest the most resource names one request may carry (a load report: the
     *     most clusters); more ends the stream with RESOURCE_EXHAUSTED
     * @param maxNamesPerStream the most resource names one stream may be subscribed to, over all
     *     types; at least {@code maxNamesPerRequest}
     * @param maxNameLength the longest resource name, in bytes (UTF-8); a longer one ends the
     *     stream with INVALID_ARGUMENT
     * @param maxMessageSize the largest message a client may send; a larger one ends its stream
     *     with RESOURCE_EXHAUSTED
     * @param maxStreamsPerConnection how many streams one connection may carry at once (a proxy
     *     needs an ADS and an LRS stream); a client's further streams wait
     */
    public record Limits(
        @DefaultValue("10000") int maxNamesPerRequest,
        @DefaultValue("40000") int maxNamesPerStream,
        @DefaultValue("512") int maxNameLength,
        @DefaultValue("4MB") org.springframework.util.unit.DataSize maxMessageSize,
        @DefaultValue("8") int maxStreamsPerConnection) {}
  }

  /**
   * The mesh's default for mutual TLS with SPIFFE identities of {@code weft.ca.trust-domain};
   * MeshTLSPolicies override it per namespace and per Service.
   */
  public enum Mtls {
    /** Plaintext between workloads. */
    DISABLED,
    /** Servers accept both where they can (Envoy); clients, and proxyless servers, plaintext. */
    PERMISSIVE,
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
   * @param tokenAudiences Kubernetes: the audiences a ServiceAccount token must be bound to ({@code
   *     weft}: a token projected for Weft); empty means the API server's default audience, which
   *     every ServiceAccount token a pod mounts carries, so a token sent to any other service could
   *     be replayed here
   * @param dnsNames DNS names in the CSR service's own certificate, besides its SPIFFE ID
   * @param trustBundleConfigMap Kubernetes: the ConfigMap the leader keeps the trust bundle in (key
   *     {@code ca.crt}), in every mesh namespace, for workloads to mount; empty means none
   * @param unauthenticatedRateLimit CSRs per second, per caller IP address, that come without a
   *     current certificate (first certificates, authenticated with a token); the excess is refused
   *     with RESOURCE_EXHAUSTED. Renewals with a current certificate are not limited
   * @param unauthenticatedBurst how many such CSRs one caller IP address may send at once
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
      @DefaultValue("weft") List<String> tokenAudiences,
      @DefaultValue({"weft.weft-system.svc", "localhost"}) List<String> dnsNames,
      @DefaultValue("weft-ca-root-cert") String trustBundleConfigMap,
      @DefaultValue("20") double unauthenticatedRateLimit,
      @DefaultValue("40") int unauthenticatedBurst) {}

  /**
   * The HTTPS port of the admission webhooks, sidecar injection's and the validating webhook's: it
   * runs when either of them is on.
   *
   * @param port the HTTPS port; 0 picks a free one
   * @param address the IP address it listens on; empty means every address (standalone, the default
   *     is {@code 127.0.0.1})
   */
  public record Webhooks(@DefaultValue("15017") int port, @DefaultValue("") String address) {}

  /**
   * The validating webhook (docs/policies.md#checked-at-apply): the API server sends it every
   * creation and update of a route, a Gateway or a Weft policy, and it refuses an invalid one with
   * the registry's own checks; in Kubernetes mode, the leader keeps the webhook configuration's
   * {@code caBundle} equal to the CA's trust bundle.
   *
   * @param enabled whether it runs; unset: in Kubernetes mode with the CA on, which issues its
   *     certificate
   * @param webhookConfiguration the ValidatingWebhookConfiguration whose webhooks named {@code
   *     *.weft.dev} the leader keeps the trust bundle in
   */
  public record Validation(
      Boolean enabled, @DefaultValue("weft-validator") String webhookConfiguration) {}

  /**
   * The sidecar injection webhook (docs/envoy.md#injection): an HTTPS port the API server sends Pod
   * creations to, which adds an Envoy sidecar to Pods of namespaces labelled {@code
   * weft.dev/inject=enabled}; and, in Kubernetes mode, the leader keeps the webhook configuration's
   * {@code caBundle} equal to the CA's trust bundle.
   *
   * @param enabled whether the webhook runs; unset: in Kubernetes mode with the CA on. It needs the
   *     CA, which issues its certificate and the sidecars'
   * @param webhookConfiguration the MutatingWebhookConfiguration whose webhooks named {@code
   *     *.weft.dev} the leader keeps the trust bundle in
   * @param init the {@code weft-init} container, which redirects the Pod's traffic: an image with
   *     {@code /bin/sh} and {@code iptables-restore}
   * @param agent the {@code weft-agent} container: Weft's own image, which runs the workload agent
   * @param proxy the {@code weft-proxy} container: Envoy
   */
  public record Injection(
      Boolean enabled,
      @DefaultValue("weft-sidecar-injector") String webhookConfiguration,
      @DefaultValue Sidecar init,
      @DefaultValue Sidecar agent,
      @DefaultValue Sidecar proxy) {

    /**
     * One container injected into every Pod.
     *
     * @param image its image; empty: Pods are admitted without a sidecar, with a warning naming
     *     this setting
     * @param requests its resource requests ({@code cpu: 100m}, {@code memory: 128Mi})
     * @param limits its resource limits
     */
    public record Sidecar(
        @DefaultValue("") String image,
        @DefaultValue Map<String, String> requests,
        @DefaultValue Map<String, String> limits) {}
  }
}
