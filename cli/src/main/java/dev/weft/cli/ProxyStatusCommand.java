package dev.weft.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code weft proxy-status}: one row per connected proxy, the replica it is connected to, and per
 * xDS type whether it holds what Weft sent it (from {@code GET /debug/proxies}):
 *
 * <ul>
 *   <li>{@code SYNCED}: acknowledged, nothing pending; the age is since its last ACK;
 *   <li>{@code PENDING}: a response it has not answered yet (or none received at all), for no
 *       longer than {@code --stale-after}; the age is how long it has waited;
 *   <li>{@code STALE}: the same, for longer than {@code --stale-after};
 *   <li>{@code NACKED}: it rejected a version after its last ACK, and keeps its last good one; the
 *       age is since the rejection, whose message follows the table.
 * </ul>
 *
 * <p>Weft lists the proxies of every replica; with proxies on several, a REPLICA column says which
 * each is connected to, and replicas that did not answer are named under the table.
 */
@Command(
    name = "proxy-status",
    mixinStandardHelpOptions = true,
    description =
        "Lists connected proxies, the replica each is on and, per xDS type, SYNCED / PENDING /"
            + " STALE / NACKED with its age.")
final class ProxyStatusCommand implements Callable<Integer> {

  /** xDS types in the order istioctl shows them, with their short names. */
  private static final Map<String, String> SHORT_NAMES =
      Map.of(
          "type.googleapis.com/envoy.config.cluster.v3.Cluster", "CDS",
          "type.googleapis.com/envoy.config.listener.v3.Listener", "LDS",
          "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "EDS",
          "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "RDS",
          "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "SDS");

  private static final List<String> ORDER = List.of("CDS", "LDS", "EDS", "RDS", "SDS");

  /** Names the replicas whose proxies Weft could not list (its XdsDebugController says so). */
  static final String UNANSWERED_HEADER = "Weft-Unanswered-Replicas";

  @Option(
      names = "--stale-after",
      defaultValue = ProxySync.DEFAULT_STALE_AFTER,
      converter = Durations.class,
      description =
          "How long a response may go unanswered before it is STALE rather than PENDING (default"
              + " ${DEFAULT-VALUE}, the server's weft.xds.stale-after).")
  Duration staleAfter;

  @ParentCommand WeftCli cli;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    WeftApi.Answer answer = cli.api().fetch("/debug/proxies");
    JsonNode proxies = answer.json();
    PrintWriter out = spec.commandLine().getOut();
    // Weft lists the proxies of every replica; one that did not answer is named in this header.
    String unanswered = answer.headers().firstValue(UNANSWERED_HEADER).orElse("");
    if (!proxies.isArray() || proxies.isEmpty()) {
      out.println("No proxies are connected to Weft at " + cli.server + ".");
      printUnanswered(out, unanswered);
      return 0;
    }
    List<JsonNode> sorted = new ArrayList<>();
    proxies.forEach(sorted::add);
    sorted.sort(
        Comparator.comparing((JsonNode p) -> p.path("namespace").asString())
            .thenComparing(p -> p.path("nodeId").asString()));
    Set<String> types = new LinkedHashSet<>();
    for (String name : ORDER) {
      for (JsonNode proxy : sorted) {
        proxy
            .path("types")
            .propertyNames()
            .forEach(
                url -> {
                  if (shortName(url).equals(name)) {
                    types.add(name);
                  }
                });
      }
    }
    for (JsonNode proxy : sorted) {
      proxy.path("types").propertyNames().forEach(url -> types.add(shortName(url)));
    }
    List<String> headers =
        new ArrayList<>(List.of("NAME", "NAMESPACE", "TYPE", "REPLICA", "PROTOCOL"));
    headers.addAll(types);
    Table table = new Table(headers);
    List<String> details = new ArrayList<>();
    Instant now = cli.clock.instant();
    Map<String, Integer> nodeIds = new HashMap<>();
    sorted.forEach(p -> nodeIds.merge(p.path("nodeId").asString(), 1, Integer::sum));
    for (JsonNode proxy : sorted) {
      List<String> row = new ArrayList<>();
      String node = proxy.path("nodeId").asString();
      String stream = proxy.path("stream").asString();
      // Several streams may share a node id (a workload's client and server); config-dump takes
      // the stream id too.
      row.add(
          node.isEmpty()
              ? stream
              : nodeIds.getOrDefault(node, 0) > 1 ? node + " (stream " + stream + ")" : node);
      row.add(orDash(proxy.path("namespace").asString()));
      row.add(orDash(proxy.path("type").asString()));
      row.add(orDash(proxy.path("replica").asString()));
      row.add(orDash(proxy.path("protocol").asString()));
      boolean shownBehind = false;
      boolean pending = false;
      for (String type : types) {
        JsonNode status = null;
        String typeUrl = "";
        for (Map.Entry<String, JsonNode> entry : iterable(proxy.path("types"))) {
          if (shortName(entry.getKey()).equals(type)) {
            status = entry.getValue();
            typeUrl = entry.getKey();
          }
        }
        if (status == null) {
          row.add("-");
          continue;
        }
        ProxySync.TypeState state =
            ProxySync.TypeState.of(
                status, ProxySync.instant(proxy.path("connectedSince")), now, staleAfter);
        row.add(state.label() + " (" + Durations.age(Duration.between(state.since(), now)) + ")");
        pending |= state.label().equals(ProxySync.TypeState.PENDING);
        shownBehind |=
            state.label().equals(ProxySync.TypeState.STALE)
                || state.label().equals(ProxySync.TypeState.NACKED);
        if (state.label().equals(ProxySync.TypeState.NACKED)) {
          JsonNode nack = status.path("lastNack");
          details.add(
              row.get(0)
                  + " "
                  + type
                  + " rejected version "
                  + nack.path("version").asString()
                  + ": "
                  + nack.path("detail").asString().strip().replaceAll("\\s+", " ")
                  + " (it keeps "
                  + keeps(status)
                  + "; "
                  + typeUrl
                  + ")");
        }
      }
      if (!shownBehind && ProxySync.stale(proxy, now, staleAfter)) {
        // Behind for longer than the threshold, and no column says why: with every response
        // answered, a push waits for a connection that takes none.
        details.add(
            row.get(0)
                + " has lacked configuration for "
                + Durations.age(Duration.between(ProxySync.behindSince(proxy), now))
                + (pending
                    ? ""
                    : " though it answered every response: its connection takes no pushes (a"
                        + " slow or stuck client)"));
      }
      table.add(row);
    }
    table.print(out);
    if (!details.isEmpty()) {
      out.println();
      details.forEach(out::println);
    }
    printUnanswered(out, unanswered);
    return 0;
  }

  private static void printUnanswered(PrintWriter out, String unanswered) {
    if (!unanswered.isEmpty()) {
      out.println();
      out.println(
          "Not listed: the proxies of replicas that did not answer: "
              + unanswered
              + ". Retry; if it lasts, see that replica's log.");
    }
  }

  private static String keeps(JsonNode status) {
    String acked = status.path("ackedVersion").asString();
    return acked.isEmpty() ? "nothing" : "version " + acked;
  }

  static String shortName(String typeUrl) {
    String known = SHORT_NAMES.get(typeUrl);
    if (known != null) {
      return known;
    }
    int dot = typeUrl.lastIndexOf('.');
    return dot < 0 ? typeUrl : typeUrl.substring(dot + 1);
  }

  private static String orDash(String text) {
    return text.isEmpty() ? "-" : text;
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode object) {
    return object.properties();
  }
}
