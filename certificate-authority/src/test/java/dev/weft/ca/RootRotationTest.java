package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.Validated;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The root rotation state machine, driven by a fake clock through a real CA and store. */
class RootRotationTest {

  static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
  static final WorkloadIdentity ALICE = new WorkloadIdentity("shop", "alice");
  static final Duration ROOT_LIFETIME = Duration.ofDays(30);
  static final Duration DELAY = Duration.ofHours(2);
  static final Duration MAX_LEAF = Duration.ofHours(4);

  @TempDir Path dir;
  FakeClock clock;
  CertificateAuthority ca;

  @BeforeEach
  void setUp() throws Exception {
    clock = new FakeClock(START);
    ca = open();
  }

  CertificateAuthority open() throws Exception {
    return CertificateAuthority.builder()
        .clock(clock)
        .store(KeyMaterialStore.directory(dir))
        .rootLifetime(ROOT_LIFETIME)
        .propagationDelay(DELAY)
        .maxLifetime(MAX_LEAF)
        .build();
  }

  X509Certificate issuerOfNewLeaf() throws Exception {
    Svid svid =
        ((Validated.Valid<Svid>)
                ca.issue(ALICE, TestCsrs.plain(TestCsrs.ec("secp256r1")), MAX_LEAF))
            .value();
    for (X509Certificate root : svid.trustBundle()) {
      try {
        svid.leaf().verify(root.getPublicKey());
        return root;
      } catch (java.security.SignatureException | java.security.InvalidKeyException e) {
        // signed by another root of the bundle
      }
    }
    throw new AssertionError("no root of the bundle signed the leaf");
  }

  @Test
  void nothingHappensBeforeTwoThirdsOfTheRootsLife() throws Exception {
    X509Certificate root = ca.trustBundle().get(0);
    clock.advance(Duration.ofDays(19));

    ca.tick();

    assertThat(ca.trustBundle()).containsExactly(root);
  }

  @Test
  void automaticRotationAddsToTheBundleFirstThenSwitchesThenRetires() throws Exception {
    X509Certificate old = ca.trustBundle().get(0);

    clock.advance(Duration.ofDays(21));
    ca.tick();
    assertThat(ca.trustBundle()).hasSize(2).contains(old);
    X509Certificate fresh = ca.trustBundle().get(1);
    assertThat(issuerOfNewLeaf()).as("signing waits for the propagation delay").isEqualTo(old);

    clock.advance(DELAY.minusSeconds(1));
    ca.tick();
    assertThat(issuerOfNewLeaf()).isEqualTo(old);

    clock.advance(Duration.ofSeconds(1));
    ca.tick();
    assertThat(issuerOfNewLeaf()).isEqualTo(fresh);
    assertThat(ca.trustBundle())
        .as("the old root stays while leaves it signed live")
        .containsExactly(old, fresh);

    clock.advance(MAX_LEAF.minusSeconds(1));
    ca.tick();
    assertThat(ca.trustBundle()).containsExactly(old, fresh);

    clock.advance(Duration.ofSeconds(1));
    ca.tick();
    assertThat(ca.trustBundle()).containsExactly(fresh);
  }

  @Test
  void onDemandRotationWithAnExplicitStep() throws Exception {
    X509Certificate old = ca.trustBundle().get(0);

    assertThat(ca.beginRootRotation().isValid()).isTrue();
    assertThat(ca.trustBundle()).hasSize(2);
    assertThat(issuerOfNewLeaf()).isEqualTo(old);

    assertThat(ca.switchSigningNow().isValid()).isTrue();

    assertThat(issuerOfNewLeaf()).isEqualTo(ca.trustBundle().get(1));
    assertThat(ca.switchSigningNow().errors().get(0).reason()).contains("no root rotation");
  }

  @Test
  void rotationStateSurvivesARestart() throws Exception {
    X509Certificate old = ca.trustBundle().get(0);
    ca.beginRootRotation();
    X509Certificate fresh = ca.trustBundle().get(1);

    CertificateAuthority restarted = open();
    assertThat(restarted.trustBundle()).containsExactly(old, fresh);
    assertThat(restarted.authorities())
        .extracting(AuthorityInfo::status)
        .containsExactly("ACTIVE", "PENDING");

    clock.advance(DELAY);
    restarted.tick();
    ca = open();
    assertThat(issuerOfNewLeaf()).isEqualTo(fresh);
    assertThat(ca.authorities())
        .extracting(AuthorityInfo::status)
        .containsExactly("RETIRING", "ACTIVE");
  }

  @Test
  void aFollowerPicksUpTheLeadersRotationOnReload() throws Exception {
    CertificateAuthority follower = open();
    ca.beginRootRotation();
    ca.switchSigningNow();

    follower.reload();

    assertThat(follower.trustBundle()).isEqualTo(ca.trustBundle());
  }

  @Test
  void expiryIsReportedForEveryRoot() throws Exception {
    java.util.List<Long> seconds = new java.util.ArrayList<>();
    CertificateAuthority reporting =
        CertificateAuthority.builder()
            .clock(clock)
            .store(KeyMaterialStore.directory(dir))
            .rootLifetime(ROOT_LIFETIME)
            .propagationDelay(DELAY)
            .maxLifetime(MAX_LEAF)
            .metrics(
                new CaMetrics() {
                  @Override
                  public void authorityExpiry(AuthorityInfo authority, long secondsToExpiry) {
                    seconds.add(secondsToExpiry);
                  }
                })
            .build();
    clock.advance(Duration.ofDays(1));

    reporting.tick();

    assertThat(seconds).containsExactly(Duration.ofDays(29).toSeconds());
  }
}
