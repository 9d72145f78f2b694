package dev.weft.controller;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.SvidWithKey;
import dev.weft.ca.WorkloadIdentity;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the control plane's own SVID, issued by Weft's CA for its SPIFFE ID and DNS names, to
 * TLS clients of a JDK server (the injection webhook), as the CA's own port presents it: issued at
 * the first handshake once the CA is loaded, renewed at half-life at the first handshake after, so
 * a renewal needs no new TLS context. Until the CA is loaded there is no certificate, and
 * handshakes fail.
 *
 * <p>The alias names the leaf's serial, and the certificate before the newest is kept, so a
 * handshake that chose its alias just before a renewal still gets a matching chain and key.
 *
 * <p>Thread-safety: the issued certificates are one volatile immutable pair, replaced under this
 * object's lock.
 */
final class OwnCertificateKeyManager extends X509ExtendedKeyManager {

  /** One issued certificate and when to replace it. */
  private record Issued(String alias, SvidWithKey svid, Instant renewAt) {}

  private record Held(Issued current, Issued previous) {}

  private final Supplier<Optional<CertificateAuthority>> ca;
  private final WorkloadIdentity identity;
  private final List<String> dnsNames;
  private final Clock clock;
  private volatile Held held;

  /**
   * @param ca the CA, once loaded
   * @param identity the control plane's own ServiceAccount
   * @param dnsNames DNS names clients connect with ({@code weft.ca.dns-names})
   */
  OwnCertificateKeyManager(
      Supplier<Optional<CertificateAuthority>> ca,
      WorkloadIdentity identity,
      List<String> dnsNames,
      Clock clock) {
    this.ca = ca;
    this.identity = identity;
    this.dnsNames = List.copyOf(dnsNames);
    this.clock = clock;
  }

  /** The certificate to present now, renewed first when past half-life; empty before the CA. */
  Optional<SvidWithKey> current() {
    return Optional.ofNullable(issued()).map(Issued::svid);
  }

  private Issued issued() {
    Held now = held;
    if (now != null && clock.instant().isBefore(now.current().renewAt())) {
      return now.current();
    }
    synchronized (this) {
      now = held;
      if (now != null && clock.instant().isBefore(now.current().renewAt())) {
        return now.current();
      }
      Optional<CertificateAuthority> authority = ca.get();
      if (authority.isEmpty()) {
        return now == null ? null : now.current();
      }
      Instant issuedAt = clock.instant();
      SvidWithKey svid = authority.get().issueOwn(identity, dnsNames);
      Issued fresh =
          new Issued(
              "svid-" + svid.svid().leaf().getSerialNumber().toString(16),
              svid,
              issuedAt.plus(Duration.between(issuedAt, svid.svid().notAfter()).dividedBy(2)));
      held = new Held(fresh, now == null ? null : now.current());
      return fresh;
    }
  }

  /** The alias for a key of {@code keyType} ("EC" for Weft's P-256 keys), or null. */
  private String alias(String keyType) {
    Issued issued = issued();
    return issued != null
            && (keyType == null || keyType.equals(issued.svid().privateKey().getAlgorithm()))
        ? issued.alias()
        : null;
  }

  private SvidWithKey forAlias(String alias) {
    Held now = held;
    if (alias == null || now == null) {
      return null;
    }
    if (alias.equals(now.current().alias())) {
      return now.current().svid();
    }
    return now.previous() != null && alias.equals(now.previous().alias())
        ? now.previous().svid()
        : null;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    String alias = alias(keyType);
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias(keyType);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias(keyType);
  }

  /** A server's key manager: it never acts as a TLS client. */
  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    SvidWithKey svid = forAlias(alias);
    return svid == null ? null : svid.svid().chain().toArray(new X509Certificate[0]);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    SvidWithKey svid = forAlias(alias);
    return svid == null ? null : svid.privateKey();
  }
}
