package dev.weft.ca;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Proves who a CSR's caller is. The SPIFFE ID of what is issued comes from the identity returned
 * here, never from the CSR. Implementations are thread-safe.
 */
public interface Authenticator {

  AuthResult authenticate(CallerCredentials credentials);

  /**
   * A Kubernetes ServiceAccount token, checked with a TokenReview. With {@code audiences} non-empty
   * the token must be bound to one of them (a projected token for Weft), so a token a workload got
   * for another service cannot be replayed here. Answers are cached briefly by the token's SHA-256
   * (accepted 10 s, refused 5 s), so a burst with one token costs one review.
   */
  static Authenticator kubernetesTokenReview(KubernetesClient client, List<String> audiences) {
    return new TokenReviewAuthenticator(client, audiences);
  }

  /**
   * Standalone: tokens listed in {@code file}, one {@code <token> <namespace> <serviceAccount>} per
   * line ({@code #} starts a comment). Re-read whenever the file changes, and at least every
   * second; a missing or unreadable file accepts no token, a line that cannot be used (a token
   * under 128 bits among them) is ignored on its own and logged with its number.
   */
  static Authenticator bootstrapTokens(Path file) {
    return new BootstrapTokenAuthenticator(file);
  }

  /** Renewal: the caller's current, valid SVID from {@code ca}, presented over mutual TLS. */
  static Authenticator currentSvid(CertificateAuthority ca, Clock clock) {
    return new SvidAuthenticator(ca, clock);
  }

  /**
   * Tries each in order; the first that authenticates wins. Refused when none does and one refused;
   * not presented when none saw a credential.
   */
  static Authenticator firstOf(List<Authenticator> authenticators) {
    List<Authenticator> all = List.copyOf(authenticators);
    return credentials -> {
      AuthResult refused = null;
      AuthResult unavailable = null;
      for (Authenticator authenticator : all) {
        AuthResult result = authenticator.authenticate(credentials);
        if (result instanceof AuthResult.Authenticated) {
          return result;
        }
        if (result instanceof AuthResult.Refused && refused == null) {
          refused = result;
        }
        if (result instanceof AuthResult.Unavailable && unavailable == null) {
          unavailable = result;
        }
      }
      if (unavailable != null) {
        return unavailable;
      }
      return refused != null ? refused : AuthResult.notPresented();
    };
  }
}
