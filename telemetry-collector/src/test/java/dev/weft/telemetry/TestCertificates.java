package dev.weft.telemetry;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway mesh CA and the certificates it signs, as Weft's CA shapes them (SPIFFE URI SAN). */
final class TestCertificates {

  /** A key and its certificate, signed by the CA. */
  record Issued(KeyPair key, X509Certificate certificate) {

    KeyManagerFactory keyManagers() throws GeneralSecurityException, java.io.IOException {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("key", key.getPrivate(), new char[0], new X509Certificate[] {certificate});
      KeyManagerFactory factory =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, new char[0]);
      return factory;
    }

    byte[] certificatePem() throws GeneralSecurityException {
      return pem("CERTIFICATE", certificate.getEncoded());
    }

    byte[] keyPem() {
      return pem("PRIVATE KEY", key.getPrivate().getEncoded());
    }
  }

  private final KeyPair caKey;
  private final X509Certificate caCertificate;
  private long serial = 1;

  TestCertificates() throws Exception {
    caKey = newKey();
    caCertificate =
        sign(
            new JcaX509v3CertificateBuilder(
                    new X500Name("CN=test mesh CA"),
                    BigInteger.valueOf(serial++),
                    Date.from(Instant.now().minus(Duration.ofMinutes(1))),
                    Date.from(Instant.now().plus(Duration.ofHours(1))),
                    new X500Name("CN=test mesh CA"),
                    caKey.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true)));
  }

  /** A certificate for {@code names} (URIs such as SPIFFE IDs, or an IP address). */
  Issued issue(GeneralName... names) throws Exception {
    KeyPair key = newKey();
    X509Certificate certificate =
        sign(
            new JcaX509v3CertificateBuilder(
                    caCertificate,
                    BigInteger.valueOf(serial++),
                    Date.from(Instant.now().minus(Duration.ofMinutes(1))),
                    Date.from(Instant.now().plus(Duration.ofHours(1))),
                    new X500Name("CN=workload"),
                    key.getPublic())
                .addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names)));
    return new Issued(key, certificate);
  }

  static GeneralName spiffeId(String namespace, String serviceAccount) {
    return new GeneralName(
        GeneralName.uniformResourceIdentifier,
        "spiffe://cluster.local/ns/" + namespace + "/sa/" + serviceAccount);
  }

  static GeneralName loopback() {
    return new GeneralName(GeneralName.iPAddress, "127.0.0.1");
  }

  TrustManagerFactory trustManagers() throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("ca", caCertificate);
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return factory;
  }

  byte[] caPem() throws GeneralSecurityException {
    return pem("CERTIFICATE", caCertificate.getEncoded());
  }

  private X509Certificate sign(X509v3CertificateBuilder builder)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter()
        .getCertificate(
            builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
  }

  private static KeyPair newKey() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static byte[] pem(String type, byte[] der) {
    return ("-----BEGIN "
            + type
            + "-----\n"
            + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
            + "\n-----END "
            + type
            + "-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }
}
