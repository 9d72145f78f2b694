package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** How a response class's calls get the cluster's latency, and what an HTTP status stands for. */
class EnvoyApportionTest {

  @Test
  void callsAreSpreadInProportionAndAddUpExactly() {
    long[] latency = new long[LatencyBuckets.COUNT];
    latency[LatencyBuckets.indexOf(2)] = 30;
    latency[LatencyBuckets.indexOf(40)] = 60;
    latency[LatencyBuckets.indexOf(900)] = 10;

    long[] five = EnvoyReceivers.apportion(latency, 5);
    long[] all = EnvoyReceivers.apportion(latency, 100);

    assertThat(Arrays.stream(five).sum()).isEqualTo(5);
    assertThat(five[LatencyBuckets.indexOf(40)]).isEqualTo(3);
    assertThat(all).isEqualTo(latency);
  }

  @Test
  void withoutALatencyDistributionTheCallsAreStillCounted() {
    long[] counts = EnvoyReceivers.apportion(new long[LatencyBuckets.COUNT], 7);

    assertThat(counts[0]).isEqualTo(7);
    assertThat(Arrays.stream(counts).sum()).isEqualTo(7);
  }

  @Test
  void httpStatusesMapToGrpcCodesAsGrpcClientsMapThem() {
    assertThat(HttpOutcomes.grpcStatusOf(200)).isZero();
    assertThat(HttpOutcomes.grpcStatusOf(302)).isZero();
    assertThat(HttpOutcomes.grpcStatusOf(404)).isEqualTo(12);
    assertThat(HttpOutcomes.grpcStatusOf(503)).isEqualTo(14);
    assertThat(HttpOutcomes.grpcStatusOf(500)).isEqualTo(2);
    assertThat(HttpOutcomes.grpcStatusOf(0)).isEqualTo(2);
    assertThat(HttpOutcomes.grpcStatusOfClass(2)).isZero();
    assertThat(HttpOutcomes.grpcStatusOfClass(5)).isEqualTo(2);
  }
}
