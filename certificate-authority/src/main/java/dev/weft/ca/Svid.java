package dev.weft.ca;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * An issued X.509-SVID: the leaf first, then the intermediates up to (not including) the root, and
 * the trust bundle the workload must trust at the time of issue.
 *
 * @param spiffeId the leaf's SPIFFE ID
 * @param chain the leaf and its intermediates
 * @param trustBundle the roots to trust
 */
public record Svid(
    String spiffeId, List<X509Certificate> chain, List<X509Certificate> trustBundle) {

  public Svid {
    chain = List.copyOf(chain);
    trustBundle = List.copyOf(trustBundle);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("an SVID has a leaf");
    }
  }

  public X509Certificate leaf() {
    return chain.get(0);
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  public Instant notBefore() {
    return leaf().getNotBefore().toInstant();
  }
}
