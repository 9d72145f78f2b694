package dev.weft.ca;

import java.security.PrivateKey;
import java.util.Objects;

/**
 * An SVID with the private key it certifies, for a certificate made in-process (the control plane's
 * own serving certificate, the xDS server's).
 *
 * @param svid the certificate chain and trust bundle
 * @param privateKey the leaf's key
 */
public record SvidWithKey(Svid svid, PrivateKey privateKey) {
  public SvidWithKey {
    Objects.requireNonNull(svid, "svid");
    Objects.requireNonNull(privateKey, "privateKey");
  }
}
