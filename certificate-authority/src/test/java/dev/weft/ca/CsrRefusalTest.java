package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each request the CA must refuse: a value naming the field and reason, nothing issued. */
class CsrRefusalTest {

  static final WorkloadIdentity ALICE = new WorkloadIdentity("shop", "alice");

  @TempDir Path dir;
  CertificateAuthority ca;
  final List<RefusalReason> refusals = new ArrayList<>();
  final List<WorkloadIdentity> issued = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    ca =
        CertificateAuthority.builder()
            .clock(new FakeClock(Instant.parse("2026-01-01T00:00:00Z")))
            .store(KeyMaterialStore.directory(dir))
            .maxLifetime(Duration.ofHours(2))
            .metrics(
                new CaMetrics() {
                  @Override
                  public void issued(WorkloadIdentity identity, long signingNanos) {
                    issued.add(identity);
                  }

                  @Override
                  public void refused(RefusalReason reason) {
                    refusals.add(reason);
                  }
                })
            .build();
  }

  FieldError refusal(byte[] csr, Duration validity, RefusalReason expected) {
    Validated<Svid> result = ca.issue(ALICE, csr, validity);
    assertThat(result.isValid()).isFalse();
    assertThat(issued).isEmpty();
    assertThat(refusals).containsExactly(expected);
    return result.errors().get(0);
  }

  @Test
  void garbageBytes() {
    FieldError error =
        refusal("hello".getBytes(StandardCharsets.US_ASCII), null, RefusalReason.MALFORMED_CSR);

    assertThat(error.path()).isEqualTo("csr");
    assertThat(error.reason()).contains("not a PKCS#10");
  }

  @Test
  void emptyRequest() {
    assertThat(refusal(new byte[0], null, RefusalReason.MALFORMED_CSR).reason()).contains("empty");
  }

  @Test
  void badSignature() throws Exception {
    FieldError error =
        refusal(
            TestCsrs.badSignature(TestCsrs.ec("secp256r1")), null, RefusalReason.BAD_CSR_SIGNATURE);

    assertThat(error.path()).isEqualTo("csr.signature");
  }

  @Test
  void rsaBelow2048Bits() throws Exception {
    FieldError error =
        refusal(TestCsrs.plain(TestCsrs.rsa(1024)), null, RefusalReason.UNSUPPORTED_KEY);

    assertThat(error.path()).isEqualTo("csr.publicKey");
    assertThat(error.reason()).contains("1024 bits").contains("2048");
  }

  @Test
  void rsaAbove4096Bits() throws Exception {
    FieldError error =
        refusal(TestCsrs.plain(TestCsrs.rsa(4608)), null, RefusalReason.UNSUPPORTED_KEY);

    assertThat(error.reason()).contains("4608 bits").contains("at most 4096");
  }

  @Test
  void rsaWithAnExponentOtherThan65537() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F0));

    FieldError error =
        refusal(TestCsrs.plain(generator.generateKeyPair()), null, RefusalReason.UNSUPPORTED_KEY);

    assertThat(error.path()).isEqualTo("csr.publicKey");
    assertThat(error.reason()).contains("exponent must be 65537");
  }

  @Test
  void rsaPssSignatureIsVerifiedWithItsParameters() throws Exception {
    KeyPair keys = TestCsrs.rsa(2048);
    byte[] csr =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=workload"), keys.getPublic())
            .build(
                new JcaContentSignerBuilder("SHA256withRSAandMGF1")
                    .setProvider(Crypto.PROVIDER)
                    .build(keys.getPrivate()))
            .getEncoded();

    assertThat(ca.issue(ALICE, csr, null).isValid()).isTrue();
  }

  @Test
  void pemWhoseMarkersOverlap() {
    byte[] der =
        CertificateService.fromPem(
            "-----BEGIN CERTIFICATE REQUEST-----END CERTIFICATE REQUEST-----");

    assertThat(refusal(der, null, RefusalReason.MALFORMED_CSR).path()).isEqualTo("csr");
  }

  @Test
  void unsupportedCurve() throws Exception {
    FieldError error =
        refusal(TestCsrs.plain(TestCsrs.ec("secp256k1")), null, RefusalReason.UNSUPPORTED_KEY);

    assertThat(error.reason()).contains("P-256");
  }

  @Test
  void p384IsAccepted() throws Exception {
    assertThat(ca.issue(ALICE, TestCsrs.plain(TestCsrs.ec("secp384r1")), null).isValid()).isTrue();
  }

  @Test
  void uriSanForAnotherIdentity() throws Exception {
    FieldError error =
        refusal(
            TestCsrs.withUriSan(TestCsrs.ec("secp256r1"), "spiffe://cluster.local/ns/shop/sa/bob"),
            null,
            RefusalReason.IDENTITY_MISMATCH);

    assertThat(error.path()).isEqualTo("csr.subjectAltName");
    assertThat(error.reason())
        .contains("spiffe://cluster.local/ns/shop/sa/bob")
        .contains("spiffe://cluster.local/ns/shop/sa/alice");
  }

  @Test
  void uriSanForTheCallersOwnIdentityIsAccepted() throws Exception {
    byte[] csr =
        TestCsrs.withUriSan(TestCsrs.ec("secp256r1"), "spiffe://cluster.local/ns/shop/sa/alice");

    Validated<Svid> result = ca.issue(ALICE, csr, null);

    assertThat(result.isValid()).isTrue();
  }

  @Test
  void lifetimeOverTheMaximumIsRefusedNotCapped() throws Exception {
    FieldError error =
        refusal(
            TestCsrs.plain(TestCsrs.ec("secp256r1")),
            Duration.ofHours(3),
            RefusalReason.BAD_LIFETIME);

    assertThat(error.path()).isEqualTo("validity");
    assertThat(error.reason()).contains("10800s").contains("maximum of 7200s");
  }

  @Test
  void nonPositiveLifetime() throws Exception {
    refusal(TestCsrs.plain(TestCsrs.ec("secp256r1")), Duration.ZERO, RefusalReason.BAD_LIFETIME);
  }
}
