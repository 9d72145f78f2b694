package dev.weft.ca;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What a caller presented: a bearer token from the {@code authorization} metadata, and the
 * certificate chain of its TLS session (already validated by the server's trust manager).
 *
 * @param bearerToken the token, if any
 * @param peerChain the TLS client chain, leaf first; empty without one
 */
public record CallerCredentials(Optional<String> bearerToken, List<X509Certificate> peerChain) {
  public CallerCredentials {
    peerChain = List.copyOf(peerChain);
  }

  public static CallerCredentials token(String token) {
    return new CallerCredentials(Optional.of(token), List.of());
  }

  public static CallerCredentials none() {
    return new CallerCredentials(Optional.empty(), List.of());
  }
}
