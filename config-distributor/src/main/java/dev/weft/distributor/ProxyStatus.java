package dev.weft.distributor;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What one connected proxy holds, as the debug API shows it. A snapshot: immutable.
 *
 * @param stream the ADS stream's id, unique while the control plane runs
 * @param nodeId the proxy's {@code node.id}
 * @param namespace from the node metadata {@code NAMESPACE}; empty when absent
 * @param serviceAccount from the node metadata {@code SERVICE_ACCOUNT}; empty when absent
 * @param pod from the node metadata {@code POD_NAME}; empty when absent
 * @param type what kind of proxy the node says it is: {@code grpc} (proxyless gRPC), {@code
 *     sidecar} or {@code gateway} (Envoy, from the node metadata {@code PROXY_TYPE}, or its user
 *     agent); empty before the first request
 * @param egress the Services a sidecar sees, from its egress hosts, resolved and normalized ({@code
 *     <namespace>/<service>}, {@code *} for any); empty: the whole mesh
 * @param address the peer address of the stream
 * @param protocol {@code sotw} (state of the world) or {@code delta}
 * @param connectedSince when the stream opened
 * @param behindSince since when the proxy has lacked configuration it should hold (a response not
 *     answered, a version rejected, a push its transport cannot take yet); null when it holds
 *     everything
 * @param types per type URL: what is subscribed, acknowledged, pending, and the last rejection
 */
public record ProxyStatus(
    String stream,
    String nodeId,
    String namespace,
    String serviceAccount,
    String pod,
    String type,
    List<String> egress,
    String address,
    String protocol,
    Instant connectedSince,
    Instant behindSince,
    Map<String, TypeStatus> types) {

  /**
   * The state of one resource type on one stream.
   *
   * @param subscribed the names subscribed, or {@code ["*"]} for all
   * @param ackedVersion the version the proxy last acknowledged; empty before the first ACK
   * @param ackedAt when the proxy last acknowledged a response of this type; null before the first
   * @param pendingVersion a version sent and not yet acknowledged or rejected; empty when none
   * @param pendingSince since when the oldest unanswered response's configuration waits for the
   *     proxy; null when none
   * @param resources names the proxy holds, per its last acknowledgement
   * @param lastNack the last rejection, or null
   */
  public record TypeStatus(
      List<String> subscribed,
      String ackedVersion,
      Instant ackedAt,
      String pendingVersion,
      Instant pendingSince,
      List<String> resources,
      Nack lastNack) {}

  /**
   * A rejected response.
   *
   * @param version the version the proxy rejected
   * @param detail the proxy's error message
   * @param at when
   */
  public record Nack(String version, String detail, Instant at) {}
}
