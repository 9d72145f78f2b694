package dev.weft.registry.model;

import dev.weft.registry.ServiceKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The order in which a Service port's routes are tried. Envoy and gRPC take the first route that
 * matches, so every (rule, match) pair is one entry, sorted by the Gateway API's precedence:
 * GRPCRoutes before HTTPRoutes; among HTTPRoutes an exact path, then the longest prefix, then a
 * method match, then the most header matches, then the most query matches; among GRPCRoutes the
 * longest service, then the longest method, then the most header matches; ties go to the oldest
 * route, then to namespace and name in alphabetical order, then to rule and match order. Every
 * emitter uses this one order.
 */
public final class RoutePrecedence {

  private static final Comparator<Entry> PRECEDENCE =
      Comparator.comparing((Entry entry) -> entry.route().protocol())
          .thenComparing(entry -> entry.match().specificity(), RoutePrecedence::moreSpecificFirst)
          .thenComparing(entry -> entry.route().created())
          .thenComparing(entry -> entry.route().namespacedName())
          .thenComparingInt(Entry::ruleIndex)
          .thenComparingInt(Entry::matchIndex);

  private RoutePrecedence() {}

  /**
   * One match of one rule.
   *
   * @param route the route
   * @param ruleIndex the rule's position in the route
   * @param matchIndex the match's position in the rule
   */
  public record Entry(MeshRoute route, int ruleIndex, int matchIndex) {

    public RouteRule rule() {
      return route.rules().get(ruleIndex);
    }

    public RouteMatch match() {
      return rule().matches().get(matchIndex);
    }

    /** A name for the entry, unique in its Service port: {@code Kind/ns/name/rule-R/match-M}. */
    public String name() {
      return route.protocol().kind()
          + "/"
          + route.namespacedName()
          + "/rule-"
          + ruleIndex
          + "/match-"
          + matchIndex;
    }
  }

  /** The entries of the {@code routes} attached to {@code port} of {@code service}, in order. */
  public static List<Entry> order(List<MeshRoute> routes, ServiceKey service, int port) {
    return order(routes.stream().filter(route -> route.attachesTo(service, port)).toList());
  }

  /** The entries of every one of {@code routes}, in order (a Gateway's, on one host). */
  public static List<Entry> order(List<MeshRoute> routes) {
    List<Entry> entries = new ArrayList<>();
    for (MeshRoute route : routes) {
      for (int r = 0; r < route.rules().size(); r++) {
        for (int m = 0; m < route.rules().get(r).matches().size(); m++) {
          entries.add(new Entry(route, r, m));
        }
      }
    }
    entries.sort(PRECEDENCE);
    return entries;
  }

  private static int moreSpecificFirst(int[] a, int[] b) {
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] != b[i]) {
        return Integer.compare(b[i], a[i]);
      }
    }
    return 0;
  }
}
