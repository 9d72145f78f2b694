package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.Validated;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every rule of the SPIFFE X.509-SVID spec, checked on issued certificates. */
class SvidSpecTest {

  static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  static final WorkloadIdentity ALICE = new WorkloadIdentity("shop", "alice");

  @TempDir Path dir;
  FakeClock clock;
  CertificateAuthority ca;

  @BeforeEach
  void setUp() throws Exception {
    clock = new FakeClock(START);
    ca = CertificateAuthority.builder().clock(clock).store(KeyMaterialStore.directory(dir)).build();
  }

  Svid issue(KeyPair keys, Duration validity) {
    Validated<Svid> result = ca.issue(ALICE, TestCsrs.plain(keys), validity);
    assertThat(result.errors()).isEmpty();
    return ((Validated.Valid<Svid>) result).value();
  }

  @Test
  void leafHasExactlyOneUriSanWithTheCallersSpiffeId() throws Exception {
    X509Certificate leaf = issue(TestCsrs.ec("secp256r1"), null).leaf();

    assertThat(leaf.getSubjectAlternativeNames())
        .containsExactly(List.of(6, "spiffe://cluster.local/ns/shop/sa/alice"));
  }

  @Test
  void leafIsNotACaAndHasCriticalBasicConstraints() throws Exception {
    X509Certificate leaf = issue(TestCsrs.ec("secp256r1"), null).leaf();

    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.basicConstraints.getId());
    assertThat(leaf.getExtensionValue(Extension.basicConstraints.getId())).isNotNull();
  }

  @Test
  void ecLeafHasCriticalDigitalSignatureOnly() throws Exception {
    X509Certificate leaf = issue(TestCsrs.ec("secp256r1"), null).leaf();

    assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.keyUsage.getId());
    // digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement,
    // keyCertSign, cRLSign, encipherOnly, decipherOnly
    boolean[] usage = leaf.getKeyUsage();
    assertThat(usage[0]).isTrue();
    for (int i = 1; i < usage.length; i++) {
      assertThat(usage[i]).as("key usage bit %d", i).isFalse();
    }
  }

  @Test
  void rsaLeafMayAlsoEncipherKeysButNeverSignCertificates() throws Exception {
    X509Certificate leaf = issue(TestCsrs.rsa(2048), null).leaf();

    boolean[] usage = leaf.getKeyUsage();
    assertThat(usage[0]).isTrue();
    assertThat(usage[2]).isTrue();
    assertThat(usage[5]).isFalse();
    assertThat(usage[6]).isFalse();
  }

  @Test
  void leafIsForServerAndClientAuthentication() throws Exception {
    X509Certificate leaf = issue(TestCsrs.ec("secp256r1"), null).leaf();

    assertThat(leaf.getExtendedKeyUsage())
        .containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
  }

  @Test
  void leafHasKeyIdentifiersChainingToTheRoot() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), null);
    X509Certificate root = svid.trustBundle().get(0);

    byte[] aki =
        AuthorityKeyIdentifier.getInstance(
                ASN1OctetString.getInstance(
                        svid.leaf().getExtensionValue(Extension.authorityKeyIdentifier.getId()))
                    .getOctets())
            .getKeyIdentifier();
    byte[] rootSki =
        SubjectKeyIdentifier.getInstance(
                ASN1OctetString.getInstance(
                        root.getExtensionValue(Extension.subjectKeyIdentifier.getId()))
                    .getOctets())
            .getKeyIdentifier();
    assertThat(svid.leaf().getExtensionValue(Extension.subjectKeyIdentifier.getId())).isNotNull();
    assertThat(aki).isEqualTo(rootSki);
  }

  @Test
  void lifetimeDefaultsToOneHourWithABackdatedStart() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), null);

    assertThat(svid.notBefore()).isEqualTo(START.minus(LeafSigner.BACKDATE));
    assertThat(svid.notAfter()).isEqualTo(START.plus(Duration.ofHours(1)));
  }

  @Test
  void requestedLifetimeWithinTheMaximumIsHonoured() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), Duration.ofMinutes(10));

    assertThat(svid.notAfter()).isEqualTo(START.plus(Duration.ofMinutes(10)));
  }

  @Test
  void serialsAreRandomPositiveAndUnique() throws Exception {
    KeyPair keys = TestCsrs.ec("secp256r1");
    Set<BigInteger> serials = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      BigInteger serial = issue(keys, null).leaf().getSerialNumber();
      assertThat(serial.signum()).isPositive();
      assertThat(serial.bitLength()).isGreaterThan(64).isLessThanOrEqualTo(128);
      serials.add(serial);
    }
    assertThat(serials).hasSize(20);
  }

  @Test
  void rootIsACaForCertificateSigningOnly() {
    X509Certificate root = ca.trustBundle().get(0);

    assertThat(root.getBasicConstraints()).isEqualTo(0);
    boolean[] usage = root.getKeyUsage();
    assertThat(usage[5]).isTrue();
    assertThat(usage[6]).isTrue();
    assertThat(usage[0]).isFalse();
    assertThat(root.getSigAlgName()).isEqualToIgnoringCase("SHA256withECDSA");
  }

  @Test
  void chainValidatesAgainstTheBundleWithTheJdkPkixValidator() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), null);

    validate(svid.chain(), svid.trustBundle(), START.plusSeconds(60));
  }

  @Test
  void chainFailsPkixValidationOnceExpired() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), null);

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> validate(svid.chain(), svid.trustBundle(), START.plus(Duration.ofHours(2))))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void chainFailsPkixValidationAgainstAnotherCasBundle() throws Exception {
    Svid svid = issue(TestCsrs.ec("secp256r1"), null);
    CertificateAuthority other =
        CertificateAuthority.builder()
            .clock(clock)
            .store(KeyMaterialStore.directory(dir.resolve("other")))
            .build();

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> validate(svid.chain(), other.trustBundle(), START.plusSeconds(60)))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void ownCertificateCarriesTheSpiffeIdThenDnsNames() throws Exception {
    SvidWithKey own =
        ca.issueOwn(new WorkloadIdentity("weft-system", "weft"), List.of("weft.weft-system.svc"));

    assertThat(own.svid().leaf().getSubjectAlternativeNames())
        .containsExactly(
            List.of(6, "spiffe://cluster.local/ns/weft-system/sa/weft"),
            List.of(2, "weft.weft-system.svc"));
    validate(own.svid().chain(), ca.trustBundle(), START.plusSeconds(1));
  }

  static void validate(List<X509Certificate> chain, List<X509Certificate> bundle, Instant at)
      throws Exception {
    PKIXParameters parameters =
        new PKIXParameters(
            bundle.stream().map(c -> new TrustAnchor(c, null)).collect(Collectors.toSet()));
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
  }
}
