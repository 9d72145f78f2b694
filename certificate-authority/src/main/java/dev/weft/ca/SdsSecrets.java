package dev.weft.ca;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the agent's SDS server serves for one SVID: the two secrets Envoy asks for by name, each
 * packed once and versioned by a hash of its certificates, so an unchanged trust bundle keeps its
 * version across renewals and is not pushed again. Immutable.
 *
 * @param generation increases with every SVID the server is given, so that a stream never goes back
 *     to an older one
 * @param version the version of the whole set, sent as {@code version_info}
 * @param secrets by name: {@link #DEFAULT} and {@link #ROOTCA}
 */
record SdsSecrets(long generation, String version, Map<String, Entry> secrets) {

  static final String TYPE_URL =
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  /** The workload's certificate chain and key, the name Istio's and SPIRE's agents use. */
  static final String DEFAULT = "default";

  /** The trust bundle, as a validation context; Istio's name for it. */
  static final String ROOTCA = "ROOTCA";

  /** Every name served, in the order a response lists them. */
  static final List<String> NAMES = List.of(DEFAULT, ROOTCA);

  /**
   * One secret.
   *
   * @param version a hash of its certificates
   * @param resource the {@link Secret}, named, packed in an {@link Any}
   */
  record Entry(String version, Any resource) {}

  SdsSecrets {
    secrets = Map.copyOf(secrets);
  }

  static SdsSecrets of(long generation, SvidWithKey svid) {
    List<X509Certificate> chain = svid.svid().chain();
    List<X509Certificate> bundle = svid.svid().trustBundle();
    // The chain identifies the key too: every renewal makes a new key and a new leaf for it.
    String certificateVersion = hash(chain);
    String bundleVersion = hash(bundle);
    Secret certificate =
        Secret.newBuilder()
            .setName(DEFAULT)
            .setTlsCertificate(
                TlsCertificate.newBuilder()
                    .setCertificateChain(inline(Pem.certificates(chain)))
                    .setPrivateKey(inline(Pem.privateKey(svid.privateKey()))))
            .build();
    Secret roots =
        Secret.newBuilder()
            .setName(ROOTCA)
            .setValidationContext(
                CertificateValidationContext.newBuilder()
                    .setTrustedCa(inline(Pem.certificates(bundle))))
            .build();
    return new SdsSecrets(
        generation,
        hash(certificateVersion + "/" + bundleVersion),
        Map.of(
            DEFAULT, new Entry(certificateVersion, Any.pack(certificate)),
            ROOTCA, new Entry(bundleVersion, Any.pack(roots))));
  }

  Optional<Entry> get(String name) {
    return Optional.ofNullable(secrets.get(name));
  }

  /** Whether this server ever serves {@code name}: only {@link #DEFAULT} and {@link #ROOTCA}. */
  static boolean serves(String name) {
    return DEFAULT.equals(name) || ROOTCA.equals(name);
  }

  private static DataSource inline(String pem) {
    return DataSource.newBuilder()
        .setInlineBytes(ByteString.copyFrom(pem, StandardCharsets.US_ASCII))
        .build();
  }

  private static String hash(List<X509Certificate> certificates) {
    MessageDigest digest = sha256();
    try {
      for (X509Certificate certificate : certificates) {
        digest.update(certificate.getEncoded());
      }
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("cannot encode certificate", e);
    }
    return shortHex(digest.digest());
  }

  private static String hash(String text) {
    return shortHex(sha256().digest(text.getBytes(StandardCharsets.US_ASCII)));
  }

  /** 64 bits: versions only need to differ from the few a stream has seen. */
  private static String shortHex(byte[] digest) {
    return HexFormat.of().formatHex(digest, 0, 8);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
