package dev.weft.registry.model;

import java.util.Objects;

/**
 * A certificate and its private key from a {@code kubernetes.io/tls} Secret that a Gateway's
 * listener serves. The registry keeps only these two fields of the Secret, checked to be PEM that
 * parses; they go to the Gateway's Envoy over SDS and nowhere else. {@link #toString()} never shows
 * the key.
 *
 * @param namespace the Secret's namespace
 * @param name the Secret's name
 * @param certificateChainPem {@code tls.crt}: the certificate, then its chain, in PEM
 * @param privateKeyPem {@code tls.key}, in PEM
 */
public record TlsCredential(
    String namespace, String name, String certificateChainPem, String privateKeyPem)
    implements GatewayObject {

  public TlsCredential {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(certificateChainPem, "certificateChainPem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
  }

  @Override
  public String toString() {
    return "TlsCredential[" + namespace + "/" + name + "]";
  }
}
