package dev.weft.telemetry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Who calls whom over a window: workloads and services as nodes, the calls clients reported as
 * edges, one per destination version, with the share of the source's calls to that service each
 * version took (a canary's split).
 *
 * @param window the window the numbers are over
 * @param nodes sorted by id
 * @param edges sorted by source, destination and version
 */
public record ServiceGraph(Duration window, List<Node> nodes, List<Edge> edges) {

  public ServiceGraph {
    nodes = List.copyOf(nodes);
    edges = List.copyOf(edges);
  }

  /**
   * A workload ({@code workload:<namespace>/<name>}) or a service ({@code service:<host>}).
   *
   * @param kind {@code workload} or {@code service}
   * @param namespace the namespace; for a service, the second label of its host name
   */
  public record Node(String id, String kind, String namespace, String name) {}

  /**
   * Calls from a workload to one version of a service.
   *
   * @param versionShare this version's part (0..1) of the source's calls to the service
   */
  public record Edge(
      String source,
      String destination,
      String destinationVersion,
      String connectionSecurity,
      long requests,
      long errors,
      double requestsPerSecond,
      double errorRatio,
      double p50Millis,
      double p99Millis,
      double versionShare) {}

  /** The graph of {@code stats} over {@code window}. */
  public static ServiceGraph of(Duration window, List<EdgeStats> stats) {
    Map<String, Node> nodes = new TreeMap<>();
    Map<String, Long> toService = new HashMap<>();
    for (EdgeStats edge : stats) {
      toService.merge(
          sourceId(edge.edge()) + ' ' + serviceId(edge.edge()), edge.requests(), Long::sum);
    }
    List<Edge> edges = new ArrayList<>();
    for (EdgeStats stat : stats) {
      EdgeStats.Edge edge = stat.edge();
      String source = sourceId(edge);
      String destination = serviceId(edge);
      nodes.putIfAbsent(
          source, new Node(source, "workload", edge.sourceNamespace(), edge.sourceWorkload()));
      String[] labels = edge.destinationService().split("\\.", 3);
      nodes.putIfAbsent(
          destination,
          new Node(
              destination,
              "service",
              labels.length > 1 ? labels[1] : "",
              edge.destinationService()));
      edges.add(
          new Edge(
              source,
              destination,
              edge.destinationVersion(),
              edge.connectionSecurity(),
              stat.requests(),
              stat.errors(),
              stat.requestsPerSecond(),
              stat.errorRatio(),
              stat.p50Millis(),
              stat.p99Millis(),
              (double) stat.requests() / toService.get(source + ' ' + destination)));
    }
    edges.sort(
        Comparator.comparing(Edge::source)
            .thenComparing(Edge::destination)
            .thenComparing(Edge::destinationVersion)
            .thenComparing(Edge::connectionSecurity));
    return new ServiceGraph(window, new ArrayList<>(nodes.values()), edges);
  }

  private static String sourceId(EdgeStats.Edge edge) {
    return "workload:" + edge.sourceNamespace() + "/" + edge.sourceWorkload();
  }

  private static String serviceId(EdgeStats.Edge edge) {
    return "service:" + edge.destinationService();
  }
}
