package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Followers follow the leader's rotations through the store; the expiry gauge follows them. */
class CaRotationTest {

  @TempDir Path dataDir;

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final MicrometerCaMetrics metrics = new MicrometerCaMetrics(meters, Clock.systemUTC());

  @Test
  void aFollowerPicksUpTheLeadersNewRootAndReportsBothRootsExpiry() throws Exception {
    CertificateAuthority leader = ca();
    CertificateAuthority follower = ca();
    leader.beginRootRotation();
    assertThat(follower.trustBundle()).hasSize(1);

    try (CaRotation rotation =
        new CaRotation(() -> Optional.of(follower), metrics, CaRotation.Mode.ELECTED)) {
      rotation.start();

      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                assertThat(follower.trustBundle()).isEqualTo(leader.trustBundle()).hasSize(2);
                assertThat(meters.find("weft.ca.authority.expiry").gauges()).hasSize(2);
              });
      rotation.stop();
      assertThat(rotation.isRunning()).isFalse();
    }
    assertThat(meters.get("weft.ca.authority.expiry").tag("status", "pending").gauge().value())
        .isGreaterThan(Duration.ofDays(300).toSeconds());
  }

  @Test
  void leadingRunsTheRotationCheckAtOnce() throws Exception {
    CertificateAuthority ca = ca();
    try (CaRotation rotation =
        new CaRotation(() -> Optional.of(ca), metrics, CaRotation.Mode.ELECTED)) {
      rotation.startLeading();

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !meters.find("weft.ca.authority.expiry").gauges().isEmpty());
      rotation.stopLeading();
    }
  }

  private CertificateAuthority ca() throws Exception {
    return CertificateAuthority.builder()
        .store(KeyMaterialStore.directory(dataDir))
        .metrics(metrics)
        .build();
  }
}
