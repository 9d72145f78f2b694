package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.registry.ServiceKey;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The names proxies ask for, read back into Services, ports and server addresses. */
class ResourceNamesTest {

  private final ResourceNames names = new ResourceNames("cluster.local");

  @Test
  void aClientListenerNameIsAServiceAndItsPort() {
    assertThat(names.parseListener("greeter.demo.svc.cluster.local:50051"))
        .contains(new ResourceNames.ClientTarget(new ServiceKey("demo", "greeter"), 50051));
    assertThat(names.parseListener("greeter.demo"))
        .contains(
            new ResourceNames.ClientTarget(
                new ServiceKey("demo", "greeter"), ResourceNames.ClientTarget.ONLY_PORT));
  }

  @ParameterizedTest
  // Digits of another script (which Character.isDigit and Integer.parseInt take), a sign, out of
  // range, nothing.
  @ValueSource(strings = {"٥٠٠٥١", "５００５１", "+8080", "0", "65536", "99999999999", ""})
  void aPortIsOneToFiveAsciiDigitsInRange(String port) {
    assertThat(names.parseListener("greeter.demo:" + port)).isEmpty();
    assertThat(names.parseServerListener("weft/inbound?address=127.0.0.1:" + port)).isEmpty();
  }

  @Test
  void aServerListenerNameIsAnIpLiteralAndAPort() {
    assertThat(names.parseServerListener("weft/inbound?address=[::1]:8080"))
        .contains(new ResourceNames.ServerAddress("::1", 8080));
    assertThat(names.parseServerListener("weft/inbound?address=localhost:8080"))
        .isEqualTo(Optional.empty());
  }

  @Test
  void theClusterOfANameNotInTheMeshNamesItAndIsOfNoService() {
    String cluster = ResourceNames.notInMeshCluster("nosuch.demo.svc.cluster.local:50051");

    assertThat(cluster).isEqualTo("weft/not-in-mesh/nosuch.demo.svc.cluster.local:50051");
    assertThat(ResourceRef.parse(ResourceType.CLUSTER, cluster, names).service()).isNull();
    assertThat(ResourceRef.parse(ResourceType.ENDPOINT, cluster, names).service()).isNull();
  }

  @Test
  void theClusterOfALongNameStaysWithinTheDefaultNameLimit() {
    String longest = "\u20ac".repeat(StreamLimits.DEFAULT_NAME_LENGTH / 3);

    String cluster = ResourceNames.notInMeshCluster(longest);

    assertThat(cluster).startsWith(ResourceNames.NOT_IN_MESH_PREFIX + "\u20ac");
    assertThat(cluster.getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(StreamLimits.DEFAULT_NAME_LENGTH);
  }
}
