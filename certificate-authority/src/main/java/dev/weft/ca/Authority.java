package dev.weft.ca;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;

/**
 * A certificate this CA can sign with (a self-signed root or a plugged-in intermediate), its key,
 * and where it stands in a root rotation. Immutable; the issuer name and key identifier that every
 * leaf repeats are computed once here rather than per signature.
 *
 * @param certificate the signing certificate
 * @param key its private key
 * @param chain the certificates above {@code certificate}, up to and including the root; empty for
 *     a self-signed root
 * @param status its role in the trust bundle and in signing
 * @param since when it entered {@code status}
 * @param removeAfter for a retiring root, when it may leave the trust bundle; otherwise {@link
 *     Instant#MAX}
 */
record Authority(
    X509Certificate certificate,
    PrivateKey key,
    List<X509Certificate> chain,
    Status status,
    Instant since,
    Instant removeAfter) {

  /** Where an authority stands in a root rotation. */
  enum Status {
    /** In the trust bundle, not signing yet: workloads learn to trust it first. */
    PENDING,
    /** Signing, and in the trust bundle. */
    ACTIVE,
    /** No longer signing; in the trust bundle until the last leaf it signed has expired. */
    RETIRING
  }

  Authority {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(key, "key");
    chain = List.copyOf(chain);
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(removeAfter, "removeAfter");
  }

  Authority withStatus(Status newStatus, Instant newSince, Instant newRemoveAfter) {
    return new Authority(certificate, key, chain, newStatus, newSince, newRemoveAfter);
  }

  /** The trust anchor a leaf signed by this authority chains to. */
  X509Certificate anchor() {
    return chain.isEmpty() ? certificate : chain.get(chain.size() - 1);
  }

  /** The certificates a leaf signed here is sent with: this one and those above, not the root. */
  List<X509Certificate> intermediates() {
    if (chain.isEmpty()) {
      return List.of();
    }
    List<X509Certificate> out = new java.util.ArrayList<>();
    out.add(certificate);
    out.addAll(chain.subList(0, chain.size() - 1));
    return List.copyOf(out);
  }

  Instant notAfter() {
    return certificate.getNotAfter().toInstant();
  }

  Instant notBefore() {
    return certificate.getNotBefore().toInstant();
  }

  X500Name subject() {
    return holder().getSubject();
  }

  /** The key identifier leaves name as their authority key identifier. */
  AuthorityKeyIdentifier authorityKeyIdentifier() {
    byte[] ski = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (ski != null) {
      return new AuthorityKeyIdentifier(
          SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ski).getOctets())
              .getKeyIdentifier());
    }
    return new AuthorityKeyIdentifier(
        keyIdentifier(holder().getSubjectPublicKeyInfo()).getKeyIdentifier());
  }

  private X509CertificateHolder holder() {
    try {
      return new X509CertificateHolder(certificate.getEncoded());
    } catch (CertificateEncodingException | java.io.IOException e) {
      throw new IllegalStateException("unreadable CA certificate", e);
    }
  }

  /**
   * RFC 5280 §4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits. Computed here with a
   * MessageDigest per call because BC's shared extension utilities hold one digest that is not
   * thread-safe.
   */
  static SubjectKeyIdentifier keyIdentifier(SubjectPublicKeyInfo key) {
    try {
      return new SubjectKeyIdentifier(
          MessageDigest.getInstance("SHA-1").digest(key.getPublicKeyData().getBytes()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-1", e);
    }
  }
}
