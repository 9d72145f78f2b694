package dev.weft.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/** Creates self-signed roots and loads plugged-in intermediates. */
final class Roots {

  private Roots() {}

  /**
   * A new self-signed ECDSA P-256 root for {@code trustDomain}, valid from now (backdated like
   * leaves) for {@code lifetime}. Its SPIFFE ID is the trust domain's, as the X.509-SVID spec
   * suggests for signing certificates. Path length 0: it signs leaves only.
   */
  static Authority newRoot(TrustDomain trustDomain, Clock clock, Duration lifetime) {
    KeyPair keys = Crypto.newP256KeyPair();
    Instant now = clock.instant();
    BigInteger serial = LeafSigner.serialNumber();
    // Two roots in one bundle must never share a name (an on-demand rotation can come within the
    // same second): path building picks issuers by name first.
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, trustDomain.name())
            .addRDN(
                BCStyle.CN,
                String.format("Weft root CA %d %08x", now.getEpochSecond(), serial.intValue()))
            .build();
    SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
    X509v3CertificateBuilder builder =
        new X509v3CertificateBuilder(
            subject,
            serial,
            Date.from(now.minus(LeafSigner.BACKDATE)),
            Date.from(now.plus(lifetime)),
            subject,
            spki);
    try {
      builder
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(
              Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, Authority.keyIdentifier(spki))
          .addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(
                  new GeneralName(GeneralName.uniformResourceIdentifier, trustDomain.uri())));
    } catch (CertIOException e) {
      throw new IllegalStateException("cannot encode root extensions", e);
    }
    X509Certificate certificate =
        Crypto.toCertificate(builder.build(Crypto.signer(keys.getPrivate())));
    return new Authority(
        certificate, keys.getPrivate(), List.of(), Authority.Status.ACTIVE, now, Instant.MAX);
  }

  /**
   * An intermediate whose certificate, key and chain (the certificates above it, up to the root) an
   * operator plugged in as PEM files.
   */
  static Authority loadIntermediate(Path certificate, Path key, Path chain, Clock clock)
      throws IOException {
    List<X509Certificate> own = Pem.parseCertificates(Files.readString(certificate));
    if (own.isEmpty()) {
      throw new IllegalArgumentException(certificate + ": no certificate");
    }
    PrivateKey privateKey = Pem.parsePrivateKey(Files.readString(key));
    List<X509Certificate> above =
        chain == null ? List.of() : Pem.parseCertificates(Files.readString(chain));
    if (own.get(0).getBasicConstraints() < 0) {
      throw new IllegalArgumentException(certificate + ": not a CA certificate (cA=false)");
    }
    return new Authority(
        own.get(0), privateKey, above, Authority.Status.ACTIVE, clock.instant(), Instant.MAX);
  }
}
