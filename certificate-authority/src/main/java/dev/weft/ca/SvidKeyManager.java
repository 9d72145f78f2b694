package dev.weft.ca;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents whatever SVID {@code current} returns at each handshake, so a renewed certificate is
 * used from the next handshake on without rebuilding a TLS context. The alias names the leaf's
 * serial: TLS stacks that cache key material by alias (Netty's OpenSSL provider) see a new alias
 * for each new certificate. {@code current} may return null: then no certificate is presented (a
 * client without an SVID yet). Stateless apart from {@code current}.
 */
public final class SvidKeyManager extends X509ExtendedKeyManager {

  private final Supplier<SvidWithKey> current;

  SvidKeyManager(Supplier<SvidWithKey> current) {
    this.current = current;
  }

  /**
   * A key manager for any TLS server or client of the control plane that presents what {@code
   * current} returns at each handshake, such as {@link CaServer#serving()} for the injection
   * webhook.
   */
  public static SvidKeyManager presenting(Supplier<SvidWithKey> current) {
    return new SvidKeyManager(current);
  }

  private String alias() {
    SvidWithKey svid = current.get();
    return svid == null ? null : "svid-" + svid.svid().leaf().getSerialNumber().toString(16);
  }

  private SvidWithKey forAlias(String alias) {
    SvidWithKey svid = current.get();
    // A renewal between choosing the alias and fetching the key hands out the newer pair whole;
    // both come from one snapshot, so certificate and key always match.
    return alias == null || svid == null ? null : svid;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String alias = alias();
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return alias();
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return alias();
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias();
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
