package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceGraphTest {

  @Test
  void aCanarysVersionsAreEdgesWithTheirShareOfTheSourcesCalls() {
    ServiceGraph graph =
        ServiceGraph.of(
            Duration.ofMinutes(1),
            List.of(
                stats("web", "greeter.shop.svc.cluster.local", "v1", 900),
                stats("web", "greeter.shop.svc.cluster.local", "v2", 100),
                stats("web", "catalog.shop.svc.cluster.local", "unknown", 50)));

    assertThat(graph.nodes())
        .extracting(ServiceGraph.Node::id)
        .containsExactly(
            "service:catalog.shop.svc.cluster.local",
            "service:greeter.shop.svc.cluster.local",
            "workload:shop/web");
    assertThat(graph.nodes().get(0).namespace()).isEqualTo("shop");
    assertThat(graph.edges())
        .extracting(ServiceGraph.Edge::destinationVersion)
        .containsExactly("unknown", "v1", "v2");
    assertThat(graph.edges().get(0).versionShare()).isEqualTo(1.0);
    assertThat(graph.edges().get(1).versionShare()).isCloseTo(0.9, within(1e-9));
    assertThat(graph.edges().get(2).versionShare()).isCloseTo(0.1, within(1e-9));
  }

  private static EdgeStats stats(String source, String service, String version, long requests) {
    return new EdgeStats(
        new EdgeStats.Edge(source, "shop", service, version, "none"),
        requests,
        0,
        requests / 60.0,
        0,
        1,
        2);
  }
}
