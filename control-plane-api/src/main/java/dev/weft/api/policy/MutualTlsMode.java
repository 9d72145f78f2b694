package dev.weft.api.policy;

/**
 * How calls to a Service are protected, from the least to the most strict, as users know the modes
 * from Istio's PeerAuthentication.
 */
public enum MutualTlsMode {
  /** Plaintext: servers do not ask for TLS, clients do not use it. */
  DISABLE,
  /**
   * Servers accept mutual TLS and plaintext where they can tell them apart (Envoy's TLS inspector);
   * clients send plaintext, so that both kinds of server accept their calls. Proxyless gRPC servers
   * cannot tell them apart on one port and serve plaintext.
   */
  PERMISSIVE,
  /** Servers require mutual TLS with a mesh certificate; clients use it. */
  STRICT;

  /** The stricter of the two. */
  public MutualTlsMode stricter(MutualTlsMode other) {
    return compareTo(other) >= 0 ? this : other;
  }
}
