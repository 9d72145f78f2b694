package dev.weft.ca;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A TLS trust manager for SPIFFE peers: the chain must validate (PKIX, at the injected clock's
 * time) against the bundle it is given at each handshake (so a root rotation takes effect without
 * rebuilding any TLS context), and the peer's SPIFFE ID must be one {@code acceptedPeer} accepts.
 * Host names are not checked: peers are authenticated by SPIFFE ID, as the spec intends. Stateless.
 */
final class SpiffeTrust extends X509ExtendedTrustManager {

  private final Supplier<List<X509Certificate>> bundle;
  private final Clock clock;
  private final Predicate<String> acceptedPeer;

  SpiffeTrust(Supplier<List<X509Certificate>> bundle, Clock clock, Predicate<String> acceptedPeer) {
    this.bundle = bundle;
    this.clock = clock;
    this.acceptedPeer = acceptedPeer;
  }

  /** Why {@code chain} does not validate against {@code anchors} at {@code at}, if it does not. */
  static Optional<String> validate(
      List<X509Certificate> chain, List<X509Certificate> anchors, Instant at) {
    if (anchors.isEmpty()) {
      return Optional.of("no trust bundle to validate against");
    }
    try {
      Set<TrustAnchor> trusted = new HashSet<>();
      for (X509Certificate anchor : anchors) {
        trusted.add(new TrustAnchor(anchor, null));
      }
      PKIXParameters parameters = new PKIXParameters(trusted);
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      return Optional.of("does not validate against the trust bundle: " + e.getMessage());
    }
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer sent no certificate");
    }
    Optional<String> problem = validate(Arrays.asList(chain), bundle.get(), clock.instant());
    if (problem.isPresent()) {
      throw new CertificateException("peer certificate " + problem.get());
    }
    Optional<String> id = SvidAuthenticator.spiffeId(chain[0]);
    if (id.isEmpty() || !acceptedPeer.test(id.get())) {
      throw new CertificateException(
          "peer SPIFFE ID " + id.orElse("(none)") + " is not the one expected here");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return bundle.get().toArray(new X509Certificate[0]);
  }
}
