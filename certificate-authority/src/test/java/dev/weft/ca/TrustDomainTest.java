package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TrustDomainTest {

  @Test
  void acceptsSpecCharacters() {
    assertThat(TrustDomain.parse("prod-1.example_org").isValid()).isTrue();
    assertThat(TrustDomain.DEFAULT.name()).isEqualTo("cluster.local");
  }

  @Test
  void refusesUppercaseSchemesPortsAndEmpty() {
    assertThat(TrustDomain.parse("Cluster.local").errors().get(0).reason()).contains("'C'");
    assertThat(TrustDomain.parse("spiffe://x").isValid()).isFalse();
    assertThat(TrustDomain.parse("x:8080").isValid()).isFalse();
    assertThat(TrustDomain.parse("").isValid()).isFalse();
    assertThatThrownBy(() -> new TrustDomain("a/b")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void identityRoundTripsThroughItsSpiffeId() {
    WorkloadIdentity identity = new WorkloadIdentity("ns1", "sa-1");
    String id = identity.spiffeId(TrustDomain.DEFAULT);

    assertThat(id).isEqualTo("spiffe://cluster.local/ns/ns1/sa/sa-1");
    assertThat(WorkloadIdentity.fromSpiffeId(TrustDomain.DEFAULT, id)).contains(identity);
    assertThat(WorkloadIdentity.fromSpiffeId(new TrustDomain("other"), id)).isEmpty();
    assertThat(WorkloadIdentity.fromSpiffeId(TrustDomain.DEFAULT, id + "/x")).isEmpty();
  }
}
