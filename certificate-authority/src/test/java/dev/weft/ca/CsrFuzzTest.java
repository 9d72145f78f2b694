package dev.weft.ca;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz tests of the CSR path, the CA's only input from workloads (see docs/fuzzing.md). Whatever a
 * caller sends, {@link CertificateAuthority#issue} must answer with a refusal naming one of the
 * documented CSR fields, or with an SVID that carries the caller's own SPIFFE ID, the CSR's key and
 * a lifetime within bounds; it must never throw, and never take long.
 *
 * <p>In a normal build each method runs only on its inputs in {@code CsrFuzzTestInputs/<method>};
 * with {@code -Dweft.fuzz=1 -Dtest=CsrFuzzTest#<method>} Jazzer fuzzes it.
 */
@Timeout(30) // per input: a CSR that takes longer than this is a finding
class CsrFuzzTest {

  static final WorkloadIdentity ALICE = new WorkloadIdentity("shop", "alice");
  static final String ALICE_ID = "spiffe://cluster.local/ns/shop/sa/alice";
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final Duration MAX_LIFETIME = Duration.ofHours(2);
  static final Duration DEFAULT_LIFETIME = Duration.ofHours(1);

  /** The fields a refusal may name (CertificateAuthority#issue's contract). */
  static final Set<String> REFUSAL_FIELDS =
      Set.of(
          CsrValidator.CSR,
          CsrValidator.SIGNATURE,
          CsrValidator.PUBLIC_KEY,
          CsrValidator.SUBJECT_ALT_NAME,
          CertificateAuthority.VALIDITY);

  /** Built once per JVM: building a CA generates its root key. */
  private static final class Fixture {
    static final CertificateAuthority CA = newCa();
    static final List<TestKey> KEYS = newKeys();
  }

  /**
   * Arbitrary bytes as a DER CSR; the committed inputs are valid CSRs (P-256, P-384, RSA 2048, with
   * and without SANs) and refused ones, from which the fuzzer mutates.
   */
  @FuzzTest(maxDuration = "3m")
  void issueArbitraryCsr(byte[] csrDer) {
    check(csrDer, null);
  }

  /** Arbitrary text as the CSR service's {@code csr_pem} field. */
  @FuzzTest(maxDuration = "3m")
  void issuePemCsr(byte[] text) {
    check(CertificateService.fromPem(new String(text, StandardCharsets.UTF_8)), null);
  }

  /**
   * Arbitrary text as PEM, which the agent reads from the CA's answers and from its credential
   * files: certificates, or an {@link IllegalArgumentException} (Pem's contract), and a private key
   * likewise; certificates that parse encode back to themselves.
   */
  @FuzzTest(maxDuration = "3m")
  void parsePem(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    try {
      List<X509Certificate> certificates = Pem.parseCertificates(text);
      if (!Pem.parseCertificates(Pem.certificates(certificates)).equals(certificates)) {
        throw new AssertionError("certificates change when encoded again: " + certificates);
      }
    } catch (IllegalArgumentException refused) {
      // the documented refusal
    }
    try {
      Pem.parsePrivateKey(text);
    } catch (IllegalArgumentException refused) {
      // the documented refusal
    }
  }

  /**
   * CSRs built from fuzzed choices and signed, so that the fuzzer reaches the checks behind the
   * signature (key, SANs, lifetime): the answer must be exactly what the rules say, an SVID when
   * every rule holds and a refusal naming the broken rule otherwise.
   */
  @FuzzTest(maxDuration = "3m")
  void issueBuiltCsr(FuzzedDataProvider data) throws Exception {
    TestKey key = data.pickValue(Fixture.KEYS);
    boolean ownKey = data.consumeBoolean();
    TestKey signer = ownKey ? key : data.pickValue(Fixture.KEYS);
    String algorithm = data.pickValue(signer.algorithms());

    X500Name subject =
        data.consumeBoolean()
            ? new X500Name(new org.bouncycastle.asn1.x500.RDN[0])
            : new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.CN, new DERUTF8String(data.consumeString(40)))
                .build();
    PKCS10CertificationRequestBuilder builder =
        new JcaPKCS10CertificationRequestBuilder(subject, key.keys().getPublic());
    List<String> uris = new ArrayList<>();
    int attributes = data.consumeInt(0, 2);
    for (int a = 0; a < attributes; a++) {
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      int count = data.consumeInt(0, 4);
      if (count > 0) {
        GeneralName[] names = new GeneralName[count];
        for (int n = 0; n < count; n++) {
          names[n] = generalName(data, uris);
        }
        extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      }
      if (data.consumeBoolean()) {
        // Asking to be a CA changes nothing: the leaf is never one.
        extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      }
      if (data.consumeBoolean()) {
        extensions.addExtension(
            new ASN1ObjectIdentifier("1.3.6.1.4.1.99999." + data.consumeInt(1, 9)),
            data.consumeBoolean(),
            new DEROctetString(data.consumeBytes(16)));
      }
      if (!extensions.isEmpty()) {
        builder.addAttribute(
            PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      }
    }
    ContentSigner contentSigner =
        new JcaContentSignerBuilder(algorithm)
            .setProvider(Crypto.PROVIDER)
            .build(signer.keys().getPrivate());
    byte[] der = builder.build(contentSigner).getEncoded();

    Duration validity = validity(data);
    boolean mutated = false;
    if (data.consumeBoolean() && der.length > 0) {
      int at = data.consumeInt(0, der.length - 1);
      byte flip = data.consumeByte();
      mutated = flip != 0;
      der[at] ^= flip;
    }

    Validated<Svid> result = check(der, validity);
    if (mutated) {
      return; // anything may happen to a mutated CSR, as long as check() holds
    }
    Optional<String> lifetimeProblem = lifetimeProblem(validity);
    List<String> expected = new ArrayList<>();
    if (lifetimeProblem.isPresent()) {
      expected.add(CertificateAuthority.VALIDITY);
    } else if (!key.accepted()) {
      expected.add(CsrValidator.PUBLIC_KEY);
    } else {
      if (!signer.name().equals(key.name())) {
        expected.add(CsrValidator.SIGNATURE);
      }
      for (String uri : uris) {
        if (!uri.equals(ALICE_ID)) {
          expected.add(CsrValidator.SUBJECT_ALT_NAME);
        }
      }
    }
    List<String> actual = result.errors().stream().map(FieldError::path).toList();
    if (!actual.equals(expected)) {
      throw new AssertionError(
          "key "
              + key.name()
              + " signed by "
              + signer.name()
              + " with "
              + algorithm
              + ", URI SANs "
              + uris
              + ", validity "
              + validity
              + ": expected refusals "
              + expected
              + ", got "
              + result.errors());
    }
  }

  /**
   * Whatever the input, {@code issue} returns a refusal of the documented fields or an SVID that
   * honours the request's key and the caller's identity.
   */
  private static Validated<Svid> check(byte[] csrDer, Duration validity) {
    Validated<Svid> result = Fixture.CA.issue(ALICE, csrDer, validity);
    if (result instanceof Validated.Valid<Svid> valid) {
      checkSvid(valid.value(), csrDer, validity);
    } else {
      for (FieldError error : result.errors()) {
        if (!REFUSAL_FIELDS.contains(error.path()) || error.reason().isBlank()) {
          throw new AssertionError("refusal outside the contract: " + result.errors());
        }
      }
      RefusalReason.of(result.errors().get(0));
    }
    return result;
  }

  private static void checkSvid(Svid svid, byte[] csrDer, Duration validity) {
    X509Certificate leaf = svid.leaf();
    try {
      if (!svid.spiffeId().equals(ALICE_ID)
          || !List.of(List.of(6, ALICE_ID)).equals(toLists(leaf.getSubjectAlternativeNames()))) {
        throw new AssertionError(
            "issued for another identity: " + leaf.getSubjectAlternativeNames());
      }
    } catch (CertificateParsingException e) {
      throw new AssertionError("issued an unreadable SAN", e);
    }
    if (leaf.getBasicConstraints() != -1) {
      throw new AssertionError("issued a CA certificate");
    }
    byte[] requestedKey;
    try {
      requestedKey = new PKCS10CertificationRequest(csrDer).getSubjectPublicKeyInfo().getEncoded();
    } catch (Exception e) {
      throw new AssertionError("issued for a CSR that does not parse", e);
    }
    if (!Arrays.equals(requestedKey, leaf.getPublicKey().getEncoded())) {
      throw new AssertionError("issued over a key other than the CSR's");
    }
    Duration lifetime = validity == null ? DEFAULT_LIFETIME : validity;
    if (lifetimeProblem(validity).isPresent()
        || leaf.getNotAfter().toInstant().isAfter(NOW.plus(lifetime))) {
      throw new AssertionError("issued for " + validity + ": until " + leaf.getNotAfter());
    }
    try {
      PublicKey issuer =
          svid.chain().size() > 1
              ? svid.chain().get(1).getPublicKey()
              : svid.trustBundle().get(0).getPublicKey();
      leaf.verify(issuer, Crypto.PROVIDER);
    } catch (GeneralSecurityException e) {
      throw new AssertionError("issued a leaf its issuer did not sign", e);
    }
  }

  private static List<List<?>> toLists(java.util.Collection<List<?>> names) {
    return names == null ? List.of() : List.copyOf(names);
  }

  /** The lifetime rule, as CertificateAuthority documents it. */
  private static Optional<String> lifetimeProblem(Duration validity) {
    Duration lifetime = validity == null ? DEFAULT_LIFETIME : validity;
    if (lifetime.isNegative() || lifetime.isZero()) {
      return Optional.of("not positive");
    }
    return lifetime.compareTo(MAX_LIFETIME) > 0 ? Optional.of("over maximum") : Optional.empty();
  }

  private static Duration validity(FuzzedDataProvider data) {
    return switch (data.consumeInt(0, 3)) {
      case 0 -> null;
      case 1 -> Duration.ofSeconds(data.consumeLong(-10, MAX_LIFETIME.toSeconds() + 10));
      case 2 -> Duration.ofNanos(data.consumeLong());
      default -> Duration.ofSeconds(data.consumeLong());
    };
  }

  private static GeneralName generalName(FuzzedDataProvider data, List<String> uris) {
    return switch (data.consumeInt(0, 3)) {
      case 0 -> {
        String uri =
            switch (data.consumeInt(0, 5)) {
              case 0 -> ALICE_ID;
              case 1 -> "spiffe://cluster.local/ns/shop/sa/bob";
              case 2 -> "spiffe://other.example/ns/shop/sa/alice";
              case 3 -> ALICE_ID + data.consumeAsciiString(8);
              case 4 -> ALICE_ID.toUpperCase(java.util.Locale.ROOT);
              default -> data.consumeAsciiString(64);
            };
        uris.add(uri);
        yield new GeneralName(GeneralName.uniformResourceIdentifier, uri);
      }
      case 1 -> new GeneralName(GeneralName.dNSName, data.consumeAsciiString(64));
      case 2 -> new GeneralName(GeneralName.rfc822Name, data.consumeAsciiString(64));
      default ->
          new GeneralName(
              GeneralName.iPAddress,
              new DEROctetString(data.consumeBytes(data.consumeBoolean() ? 4 : 16)));
    };
  }

  /** A key a CSR may carry, the algorithms it can sign with, and whether the CA accepts it. */
  record TestKey(String name, KeyPair keys, List<String> algorithms, boolean accepted) {}

  private static List<TestKey> newKeys() {
    try {
      List<String> ecdsa = List.of("SHA256withECDSA", "SHA384withECDSA", "SHA1withECDSA");
      List<String> rsa = List.of("SHA256withRSA", "SHA512withRSA", "SHA256withRSAandMGF1");
      return List.of(
          new TestKey("P-256", ec("secp256r1"), ecdsa, true),
          new TestKey("P-384", ec("secp384r1"), ecdsa, true),
          new TestKey("P-521", ec("secp521r1"), ecdsa, false),
          new TestKey("secp256k1", ec("secp256k1"), ecdsa, false),
          new TestKey("RSA-2048", TestCsrs.rsa(2048), rsa, true),
          new TestKey("RSA-1024", TestCsrs.rsa(1024), rsa, false),
          new TestKey(
              "Ed25519",
              KeyPairGenerator.getInstance("Ed25519", Crypto.PROVIDER).generateKeyPair(),
              List.of("Ed25519"),
              false));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair ec(String curve) throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", Crypto.PROVIDER);
    generator.initialize(new ECGenParameterSpec(curve));
    return generator.generateKeyPair();
  }

  private static CertificateAuthority newCa() {
    try {
      return CertificateAuthority.builder()
          .clock(new FakeClock(NOW))
          .store(new MemoryStore())
          .maxLifetime(MAX_LIFETIME)
          .defaultLifetime(DEFAULT_LIFETIME)
          .build();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Keeps the CA's root in memory: fuzzing writes nothing to disk but its corpus. */
  static final class MemoryStore implements KeyMaterialStore {
    private Map<String, String> entries;

    @Override
    public synchronized Optional<Map<String, String>> load() {
      return Optional.ofNullable(entries);
    }

    @Override
    public synchronized Map<String, String> createIfAbsent(Map<String, String> stored) {
      if (entries == null) {
        entries = Map.copyOf(stored);
      }
      return entries;
    }

    @Override
    public synchronized void replace(Map<String, String> stored) {
      entries = Map.copyOf(stored);
    }
  }
}
