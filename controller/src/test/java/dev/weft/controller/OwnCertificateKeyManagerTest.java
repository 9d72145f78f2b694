package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.WorkloadIdentity;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The webhook's certificate: issued once the CA is there, renewed at half-life, never torn. */
class OwnCertificateKeyManagerTest {

  /** A clock the test moves. */
  private static final class MovingClock extends Clock {
    private final AtomicReference<Instant> now =
        new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));

    void advance(Duration by) {
      now.updateAndGet(instant -> instant.plus(by));
    }

    @Override
    public Instant instant() {
      return now.get();
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  @TempDir Path dir;

  @Test
  void issuedOnceTheCaIsLoadedAndRenewedAtHalfLife() throws Exception {
    MovingClock clock = new MovingClock();
    CertificateAuthority ca =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(dir))
            .clock(clock)
            .defaultLifetime(Duration.ofHours(1))
            .build();
    AtomicReference<Optional<CertificateAuthority>> loaded =
        new AtomicReference<>(Optional.empty());
    OwnCertificateKeyManager keys =
        new OwnCertificateKeyManager(
            loaded::get,
            new WorkloadIdentity("weft-system", "weft"),
            List.of("weft.weft-system.svc", "localhost"),
            clock);

    // No CA yet: no certificate, and the handshake fails.
    assertThat(keys.chooseEngineServerAlias("EC", null, null)).isNull();

    loaded.set(Optional.of(ca));
    String first = keys.chooseEngineServerAlias("EC", null, null);

    assertThat(first).startsWith("svid-");
    assertThat(keys.chooseEngineServerAlias("RSA", null, null)).isNull();
    X509Certificate leaf = keys.getCertificateChain(first)[0];
    assertThat(leaf.getSubjectAlternativeNames())
        .contains(
            List.of(6, "spiffe://cluster.local/ns/weft-system/sa/weft"), List.of(2, "localhost"));
    assertThat(keys.getPrivateKey(first)).isNotNull();

    clock.advance(Duration.ofMinutes(29));
    assertThat(keys.chooseEngineServerAlias("EC", null, null)).isEqualTo(first);

    clock.advance(Duration.ofMinutes(2));
    String second = keys.chooseEngineServerAlias("EC", null, null);

    assertThat(second).isNotEqualTo(first);
    assertThat(keys.getCertificateChain(second)[0].getSerialNumber())
        .isNotEqualTo(leaf.getSerialNumber());
    // A handshake that chose the first alias just before the renewal still gets its own pair.
    assertThat(keys.getCertificateChain(first)[0]).isEqualTo(leaf);
    assertThat(keys.getPrivateKey(first).getEncoded())
        .isNotEqualTo(keys.getPrivateKey(second).getEncoded());
    // A server's key manager offers nothing as a client.
    assertThat(keys.chooseEngineClientAlias(new String[] {"EC"}, null, null)).isNull();
  }
}
