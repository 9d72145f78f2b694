package dev.weft.ca;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import java.io.IOException;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.spec.PSSParameterSpec;
import java.util.Locale;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Checks a PKCS#10 request before anything is signed: it parses, its signature verifies with its
 * own key (proof that the caller holds the key), the key is strong enough, and any URI SAN it asks
 * for is the caller's own SPIFFE ID. Nothing else in the CSR is used: the SPIFFE ID always comes
 * from the authenticated identity, and the subject and other SANs are ignored. Stateless.
 *
 * <p>Accepted keys: ECDSA P-256 (the product default) and P-384 (for workloads under a policy that
 * asks for it; both are in every TLS stack), RSA of at least 2048 bits. Other curves and Ed25519
 * are refused: not every peer's TLS stack verifies them in certificates.
 */
final class CsrValidator {

  static final String CSR = "csr";
  static final String SIGNATURE = "csr.signature";
  static final String PUBLIC_KEY = "csr.publicKey";
  static final String SUBJECT_ALT_NAME = "csr.subjectAltName";

  private static final int MIN_RSA_BITS = 2048;

  /**
   * Larger RSA keys are refused too, as are exponents other than F4: checking a fresh 8192-bit
   * modulus costs the CA about 130 ms, and a large exponent as much again per signature (measured),
   * a cheap way for any workload to exhaust it; no workload needs either.
   */
  private static final int MAX_RSA_BITS = 4096;

  private static final java.math.BigInteger RSA_EXPONENT = java.math.BigInteger.valueOf(65537);

  private static final DefaultAlgorithmNameFinder ALGORITHM_NAMES =
      new DefaultAlgorithmNameFinder();

  private CsrValidator() {}

  /** The request's public key when every check passes; otherwise what failed, by field. */
  static Validated<SubjectPublicKeyInfo> validate(byte[] der, String callerSpiffeId) {
    if (der == null || der.length == 0) {
      return Validated.invalid(CSR, "is empty; send a DER or PEM PKCS#10 request");
    }
    PKCS10CertificationRequest csr;
    try {
      csr = new PKCS10CertificationRequest(der);
    } catch (IOException | RuntimeException e) {
      return Validated.invalid(
          CSR, "is not a PKCS#10 certificate request (" + e.getMessage() + ")");
    }
    SubjectPublicKeyInfo key = csr.getSubjectPublicKeyInfo();
    String keyProblem = keyProblem(key);
    if (keyProblem != null) {
      return Validated.invalid(PUBLIC_KEY, keyProblem);
    }
    FieldErrors errors = new FieldErrors();
    if (!signatureVerifies(csr)) {
      errors.add(SIGNATURE, "does not verify with the request's own public key");
    }
    java.util.List<String> uris;
    try {
      uris = uriSans(csr);
    } catch (RuntimeException e) {
      errors.add(SUBJECT_ALT_NAME, "is unreadable (" + e.getMessage() + ")");
      uris = java.util.List.of();
    }
    for (String uri : uris) {
      if (!uri.equals(callerSpiffeId)) {
        errors.add(
            SUBJECT_ALT_NAME,
            "asks for " + uri + ", but the authenticated caller is " + callerSpiffeId);
      }
    }
    return errors.toResult(() -> key);
  }

  private static String keyProblem(SubjectPublicKeyInfo key) {
    ASN1ObjectIdentifier algorithm = key.getAlgorithm().getAlgorithm();
    try {
      if (X9ObjectIdentifiers.id_ecPublicKey.equals(algorithm)) {
        if (!(key.getAlgorithm().getParameters() instanceof ASN1ObjectIdentifier curve)) {
          return "an EC key must name its curve; explicit curve parameters are not accepted";
        }
        if (curve.equals(SECObjectIdentifiers.secp256r1)
            || curve.equals(SECObjectIdentifiers.secp384r1)) {
          return null;
        }
        return "EC curve " + curve.getId() + " is not supported; use P-256 (or P-384)";
      }
      if (PKCSObjectIdentifiers.rsaEncryption.equals(algorithm)) {
        RSAPublicKey rsa = RSAPublicKey.getInstance(key.parsePublicKey());
        int bits = rsa.getModulus().bitLength();
        if (!RSA_EXPONENT.equals(rsa.getPublicExponent())) {
          return "RSA public exponent must be 65537";
        }
        if (bits < MIN_RSA_BITS) {
          return String.format(
              Locale.ROOT, "RSA key of %d bits is too weak; at least %d", bits, MIN_RSA_BITS);
        }
        if (bits > MAX_RSA_BITS) {
          return String.format(
              Locale.ROOT, "RSA key of %d bits is too large; at most %d", bits, MAX_RSA_BITS);
        }
        return null;
      }
    } catch (IOException | RuntimeException e) {
      return "is unreadable (" + e.getMessage() + ")";
    }
    return "key algorithm " + algorithm.getId() + " is not supported; use ECDSA P-256";
  }

  /**
   * Verifies with a plain JCA Signature rather than BC's JcaContentVerifierProviderBuilder: the
   * latter's verifier for ECDSA also runs a second "raw" verification after the real one (to free
   * PKCS#11 sessions), which doubled the CA's cost per CSR (measured: 62% of issuance time).
   */
  private static boolean signatureVerifies(PKCS10CertificationRequest csr) {
    try {
      AlgorithmIdentifier signature = csr.getSignatureAlgorithm();
      Signature verifier =
          Signature.getInstance(ALGORITHM_NAMES.getAlgorithmName(signature), Crypto.PROVIDER);
      if (PKCSObjectIdentifiers.id_RSASSA_PSS.equals(signature.getAlgorithm())) {
        // RSA-PSS names its hash, mask and salt in the parameters, not in the algorithm's name.
        AlgorithmParameters parameters = AlgorithmParameters.getInstance("PSS", Crypto.PROVIDER);
        parameters.init(signature.getParameters().toASN1Primitive().getEncoded(ASN1Encoding.DER));
        verifier.setParameter(parameters.getParameterSpec(PSSParameterSpec.class));
      }
      verifier.initVerify(BouncyCastleProvider.getPublicKey(csr.getSubjectPublicKeyInfo()));
      verifier.update(
          csr.toASN1Structure().getCertificationRequestInfo().getEncoded(ASN1Encoding.DER));
      return verifier.verify(csr.getSignature());
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      return false;
    }
  }

  private static java.util.List<String> uriSans(PKCS10CertificationRequest csr) {
    java.util.List<String> uris = new java.util.ArrayList<>();
    for (Attribute attribute :
        csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (var value : attribute.getAttributeValues()) {
        GeneralNames names =
            GeneralNames.fromExtensions(
                Extensions.getInstance(value), Extension.subjectAlternativeName);
        if (names == null) {
          continue;
        }
        for (GeneralName name : names.getNames()) {
          if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
            uris.add(name.getName().toString());
          }
        }
      }
    }
    return uris;
  }
}
