package dev.weft.controller;

/**
 * The iptables rules that send an injected Pod's TCP traffic through its Envoy sidecar, as Istio's
 * {@code istio-init} writes them: outbound connections to Envoy's outbound listener, inbound ones
 * to its inbound listener. They are one {@code iptables-restore} input in the {@code nat} table,
 * run by a shell in the {@code weft-init} container, so the rules are ours and any image with
 * {@code /bin/sh} and {@code iptables-restore} can apply them. Immutable.
 *
 * <p>What is not redirected, and why:
 *
 * <ul>
 *   <li>traffic of the proxy's user ({@value #PROXY_UID}): Envoy's own upstream connections, and
 *       the workload agent's to the CA, which would otherwise loop back into Envoy;
 *   <li>traffic on the loopback interface: containers of the Pod talking to each other (Envoy's
 *       admin interface, the agent's SDS socket's peers), and the Pod to itself;
 *   <li>inbound connections to {@value #FIRST_RESERVED_PORT}-{@value #LAST_RESERVED_PORT}, the
 *       ports of Weft's own containers, which are theirs to answer.
 * </ul>
 *
 * <p>Only IPv4 is redirected (docs/envoy.md#injection says so): a node without IPv6 NAT would fail
 * the init container, and the Pod with it.
 */
final class TrafficRedirect {

  /** The proxy's user id: Envoy and the agent run as it, and their traffic is never redirected. */
  static final long PROXY_UID = 1337;

  /** Envoy's listener for connections the Pod opens. */
  static final int OUTBOUND_PORT = 15001;

  /** Envoy's listener for connections to the Pod. */
  static final int INBOUND_PORT = 15006;

  /** The ports Weft's containers use in the Pod: never redirected, never an application's. */
  static final int FIRST_RESERVED_PORT = 15000;

  static final int LAST_RESERVED_PORT = 15099;

  private TrafficRedirect() {}

  /** The rules, as {@code iptables-restore --noflush} reads them. */
  static String rules() {
    String reserved = FIRST_RESERVED_PORT + ":" + LAST_RESERVED_PORT;
    return String.join(
        "\n",
        "*nat",
        ":WEFT_INBOUND - [0:0]",
        ":WEFT_OUTPUT - [0:0]",
        "-A PREROUTING -p tcp -j WEFT_INBOUND",
        "-A WEFT_INBOUND -p tcp --dport " + reserved + " -j RETURN",
        "-A WEFT_INBOUND -p tcp -j REDIRECT --to-ports " + INBOUND_PORT,
        "-A OUTPUT -p tcp -j WEFT_OUTPUT",
        "-A WEFT_OUTPUT -m owner --uid-owner " + PROXY_UID + " -j RETURN",
        "-A WEFT_OUTPUT -o lo -j RETURN",
        "-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports " + OUTBOUND_PORT,
        "COMMIT",
        "");
  }

  /**
   * The {@code sh -c} script that applies {@link #rules()}. The here-document is quoted, so the
   * shell expands nothing in it; and no {@code $(} appears, which the kubelet would take for a
   * variable reference in a container's arguments. {@code --noflush} keeps any rule a CNI plugin
   * put in the Pod's network namespace.
   */
  static String script() {
    return "set -eu\niptables-restore --noflush <<'WEFT_RULES'\n" + rules() + "WEFT_RULES\n";
  }
}
