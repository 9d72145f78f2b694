package dev.weft.ca;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** CSRs for tests, good and bad. */
final class TestCsrs {

  private TestCsrs() {}

  static KeyPair ec(String curve) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", Crypto.PROVIDER);
    generator.initialize(new ECGenParameterSpec(curve));
    return generator.generateKeyPair();
  }

  static KeyPair rsa(int bits) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(bits);
    return generator.generateKeyPair();
  }

  static byte[] plain(KeyPair keys) {
    return Csrs.forKey(keys);
  }

  static byte[] withUriSan(KeyPair keys, String uri) throws Exception {
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=workload"), keys.getPublic())
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
        .build(Crypto.signer(keys.getPrivate()))
        .getEncoded();
  }

  /** A CSR whose last signature byte is flipped: well-formed, but the signature fails. */
  static byte[] badSignature(KeyPair keys) {
    byte[] der = Csrs.forKey(keys);
    der[der.length - 1] ^= 0x01;
    return der;
  }
}
