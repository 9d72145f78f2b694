package dev.weft.ca;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Renewal: a caller that holds a valid SVID of this CA is the identity it names. The chain is
 * validated again here, at the injected clock's time and against the current bundle, so the
 * decision does not depend on how the TLS layer was configured. Stateless.
 */
final class SvidAuthenticator implements Authenticator {

  private final CertificateAuthority ca;
  private final Clock clock;

  SvidAuthenticator(CertificateAuthority ca, Clock clock) {
    this.ca = ca;
    this.clock = clock;
  }

  @Override
  public AuthResult authenticate(CallerCredentials credentials) {
    List<X509Certificate> chain = credentials.peerChain();
    if (chain.isEmpty()) {
      return AuthResult.notPresented();
    }
    Optional<String> problem = SpiffeTrust.validate(chain, ca.trustBundle(), clock.instant());
    if (problem.isPresent()) {
      return new AuthResult.Refused("certificate", problem.get());
    }
    Optional<String> id = spiffeId(chain.get(0));
    Optional<WorkloadIdentity> identity =
        id.flatMap(uri -> WorkloadIdentity.fromSpiffeId(ca.trustDomain(), uri));
    return identity
        .<AuthResult>map(AuthResult.Authenticated::new)
        .orElseGet(
            () ->
                new AuthResult.Refused(
                    "certificate",
                    "names "
                        + id.orElse("no SPIFFE ID")
                        + ", not a workload of "
                        + ca.trustDomain().uri()));
  }

  /** The leaf's one URI SAN, if it has exactly one. */
  static Optional<String> spiffeId(X509Certificate leaf) {
    try {
      if (leaf.getSubjectAlternativeNames() == null) {
        return Optional.empty();
      }
      List<String> uris =
          leaf.getSubjectAlternativeNames().stream()
              .filter(name -> Integer.valueOf(6).equals(name.get(0)))
              .map(name -> (String) name.get(1))
              .toList();
      return uris.size() == 1 ? Optional.of(uris.get(0)) : Optional.empty();
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
  }
}
