package dev.weft.ca;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/**
 * Builds and signs X.509-SVID leaves exactly as the SPIFFE X.509-SVID spec requires: one URI SAN
 * (the SPIFFE ID), {@code cA=false}, critical KeyUsage with digitalSignature (plus keyEncipherment
 * for RSA keys, which use it in TLS key exchange; never keyCertSign or cRLSign), EKU serverAuth and
 * clientAuth, subject and authority key identifiers. Stateless and thread-safe.
 */
final class LeafSigner {

  /**
   * How far notBefore is set in the past. A workload whose clock runs behind the CA's would
   * otherwise reject its brand-new certificate as not yet valid; five minutes covers the skew of
   * NTP-synchronised nodes with a wide margin and costs nothing, as lifetimes count from now.
   */
  static final Duration BACKDATE = Duration.ofMinutes(5);

  /**
   * RFC 5280 allows 20 octets; 128 random bits (the CA/B Forum asks for at least 64) make a
   * collision between two certificates of one CA practically impossible without any bookkeeping.
   */
  private static final int SERIAL_BITS = 128;

  private LeafSigner() {}

  static BigInteger serialNumber() {
    BigInteger serial = new BigInteger(SERIAL_BITS, Crypto.RANDOM);
    return serial.signum() == 0 ? BigInteger.ONE : serial;
  }

  /**
   * Signs a leaf for {@code spiffeId} and {@code dnsNames} (only the control plane's own serving
   * certificate has those) over {@code key}, valid from {@code now - BACKDATE} until {@code now +
   * lifetime}, but never past the issuer's own expiry: a leaf that outlives its issuer would fail
   * validation before its time anyway.
   */
  static X509Certificate sign(
      Issuer issuer,
      TrustDomain trustDomain,
      String spiffeId,
      List<String> dnsNames,
      SubjectPublicKeyInfo key,
      Instant now,
      Duration lifetime) {
    Instant notAfter = now.plus(lifetime);
    if (notAfter.isAfter(issuer.notAfter())) {
      notAfter = issuer.notAfter();
    }
    // The subject carries no identity (the SAN does, per the spec); only the trust domain, so
    // that a certificate shown in a log says where it came from.
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, trustDomain.name()).build();
    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            issuer.name(),
            serialNumber(),
            Date.from(now.minus(BACKDATE)),
            Date.from(notAfter),
            subject,
            key);
    ASN1Encodable[] names = new ASN1Encodable[1 + dnsNames.size()];
    names[0] = new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId);
    for (int i = 0; i < dnsNames.size(); i++) {
      names[i + 1] = new GeneralName(GeneralName.dNSName, dnsNames.get(i));
    }
    int usage = KeyUsage.digitalSignature;
    if (PKCSObjectIdentifiers.rsaEncryption.equals(key.getAlgorithm().getAlgorithm())) {
      usage |= KeyUsage.keyEncipherment;
    }
    try {
      builder
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(usage))
          .addExtension(
              Extension.extendedKeyUsage,
              false,
              new ExtendedKeyUsage(
                  new KeyPurposeId[] {
                    KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                  }))
          .addExtension(Extension.subjectAlternativeName, false, new DERSequence(names))
          .addExtension(Extension.subjectKeyIdentifier, false, Authority.keyIdentifier(key))
          .addExtension(Extension.authorityKeyIdentifier, false, issuer.keyIdentifier());
    } catch (CertIOException e) {
      throw new IllegalStateException("cannot encode leaf extensions", e);
    }
    return Crypto.toCertificate(builder.build(Crypto.signer(issuer.authority().key())));
  }

  /**
   * The active authority with what every leaf repeats from it, parsed once per rotation step rather
   * than once per signature.
   */
  record Issuer(Authority authority, X500Name name, AuthorityKeyIdentifier keyIdentifier) {
    static Issuer of(Authority authority) {
      return new Issuer(authority, authority.subject(), authority.authorityKeyIdentifier());
    }

    Instant notAfter() {
      return authority.notAfter();
    }
  }
}
