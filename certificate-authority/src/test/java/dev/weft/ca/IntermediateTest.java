package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.Validated;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A plugged-in intermediate from PEM files: leaves chain through it to the operator's root. */
class IntermediateTest {

  @TempDir Path dir;

  @Test
  void leavesChainThroughThePluggedInIntermediateToItsRoot() throws Exception {
    FakeClock clock = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));
    Authority root = Roots.newRoot(new TrustDomain("corp"), clock, Duration.ofDays(3650));
    KeyPair keys = Crypto.newP256KeyPair();
    SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
    X509Certificate intermediate =
        Crypto.toCertificate(
            new X509v3CertificateBuilder(
                    root.subject(),
                    BigInteger.TEN,
                    Date.from(clock.instant().minusSeconds(60)),
                    Date.from(clock.instant().plus(Duration.ofDays(365))),
                    new X500Name("O=corp, CN=cluster-1 intermediate"),
                    spki)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(
                    Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(Extension.subjectKeyIdentifier, false, Authority.keyIdentifier(spki))
                .addExtension(
                    Extension.authorityKeyIdentifier, false, root.authorityKeyIdentifier())
                .build(Crypto.signer(root.key())));
    Files.writeString(dir.resolve("ca-cert.pem"), Pem.certificate(intermediate));
    Files.writeString(dir.resolve("ca-key.pem"), Pem.privateKey(keys.getPrivate()));
    Files.writeString(dir.resolve("cert-chain.pem"), Pem.certificate(root.certificate()));
    List<AuthorityInfo> expiries = new java.util.ArrayList<>();

    CertificateAuthority ca =
        CertificateAuthority.builder()
            .clock(clock)
            .intermediate(
                dir.resolve("ca-cert.pem"),
                dir.resolve("ca-key.pem"),
                dir.resolve("cert-chain.pem"))
            .metrics(
                new CaMetrics() {
                  @Override
                  public void authorityExpiry(AuthorityInfo authority, long secondsToExpiry) {
                    expiries.add(authority);
                  }
                })
            .build();
    Svid svid =
        ((Validated.Valid<Svid>)
                ca.issue(
                    new WorkloadIdentity("shop", "alice"),
                    TestCsrs.plain(TestCsrs.ec("secp256r1")),
                    null))
            .value();

    assertThat(svid.chain()).containsExactly(svid.leaf(), intermediate);
    assertThat(svid.trustBundle()).containsExactly(root.certificate());
    SvidSpecTest.validate(svid.chain(), svid.trustBundle(), clock.instant());
    assertThat(ca.beginRootRotation().isValid()).isFalse();
    ca.tick();
    assertThat(expiries)
        .extracting(AuthorityInfo::kind)
        .containsExactly(AuthorityInfo.Kind.INTERMEDIATE);
  }
}
