package dev.weft.ca;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Builds the PKCS#10 requests the agent sends: the key only, no subject, no names to ask for. */
final class Csrs {

  private Csrs() {}

  static byte[] forKey(KeyPair keys) {
    try {
      return new JcaPKCS10CertificationRequestBuilder(
              new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), keys.getPublic())
          .build(Crypto.signer(keys.getPrivate()))
          .getEncoded();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
