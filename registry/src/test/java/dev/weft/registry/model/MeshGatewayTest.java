package dev.weft.registry.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which routes a Gateway's listener takes, and for which hosts, as the Gateway API says. */
class MeshGatewayTest {

  private static final MeshGateway.Listener SHOP =
      new MeshGateway.Listener(
          "shop",
          443,
          MeshGateway.Protocol.HTTPS,
          Optional.of("*.example.com"),
          List.of("c"),
          false);

  private static final MeshGateway EDGE =
      new MeshGateway("shop", "edge", "weft", "~", List.of(SHOP));

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          no route host names: the listener's          | shop | edge |      |     |                                  | *.example.com
          a host the wildcard covers                    | shop | edge |      |     | a.example.com                    | a.example.com
          a wider wildcard narrows to the listener's    | shop | edge |      |     | *.com                            | *.example.com
          a host outside it                             | shop | edge |      |     | a.example.org                    |
          only the hosts that intersect                 | shop | edge |      |     | a.example.com b.example.org      | a.example.com
          the wildcard's own domain is not covered      | shop | edge |      |     | example.com                      |
          another Gateway                               | shop | core |      |     |                                  |
          its listener by name                          | shop | edge | shop |     |                                  | *.example.com
          another listener                              | shop | edge | http |     |                                  |
          its port                                      | shop | edge |      | 443 |                                  | *.example.com
          another port                                  | shop | edge |      | 80  |                                  |
          a route of another namespace                  | web  | edge |      |     |                                  |
          """)
  void aListenerTakesTheRoutesOfItsGatewayForTheHostsTheyShare(
      String what,
      String routeNamespace,
      String gateway,
      String listener,
      Integer port,
      String routeHosts,
      String expected) {
    MeshRoute route =
        new MeshRoute(
            MeshRoute.Protocol.HTTP,
            routeNamespace,
            "r",
            "~",
            List.of(),
            List.of(
                new MeshRoute.GatewayParent(
                    "shop",
                    gateway,
                    Optional.ofNullable(listener),
                    port == null ? OptionalInt.empty() : OptionalInt.of(port))),
            routeHosts == null ? List.of() : Arrays.asList(routeHosts.split(" ")),
            List.of());

    assertThat(EDGE.hostsOf(route, SHOP))
        .as(what)
        .isEqualTo(expected == null ? List.of() : List.of(expected));
  }
}
