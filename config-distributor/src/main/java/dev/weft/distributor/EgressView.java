package dev.weft.distributor;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.registry.ServiceKey;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which Services an Envoy sidecar sees: the whole mesh ({@link #ALL}), or those its egress hosts
 * declare, resolved against its namespace and normalized, so that sidecars that declare the same
 * Services in other words ({@code ./*} in namespace {@code shop}, {@code shop/*}; entries in
 * another order, repeated, or covered by a pattern) share one view, and with it one built and
 * serialized outbound Listener and cluster list ({@link ResourceCache#outbound}).
 *
 * <p>Immutable; equal by its normalized hosts.
 */
final class EgressView {

  /** The whole mesh: a sidecar that declares nothing. */
  static final EgressView ALL = new EgressView(List.of());

  /** Sorted, distinct, none covered by another; empty for {@link #ALL}. */
  private final List<EgressHosts.Host> hosts;

  private final Set<String> wholeNamespaces = new HashSet<>();
  private final Set<String> namesInAnyNamespace = new HashSet<>();
  private final Set<ServiceKey> services = new HashSet<>();

  private EgressView(List<EgressHosts.Host> hosts) {
    this.hosts = hosts;
    for (EgressHosts.Host host : hosts) {
      if (host.service().equals(EgressHosts.ANY)) {
        wholeNamespaces.add(host.namespace());
      } else if (host.namespace().equals(EgressHosts.ANY)) {
        namesInAnyNamespace.add(host.service());
      } else {
        services.add(new ServiceKey(host.namespace(), host.service()));
      }
    }
  }

  /**
   * The view of a sidecar in {@code namespace} that declares {@code hosts}: {@code .} becomes its
   * namespace, {@code *}{@code /*} or no hosts at all the whole mesh. Invalid when a host says
   * {@code .} and the node names no namespace to resolve it against.
   */
  static Validated<EgressView> of(List<EgressHosts.Host> hosts, String namespace) {
    FieldErrors errors = new FieldErrors();
    TreeSet<EgressHosts.Host> resolved = new TreeSet<>();
    for (int i = 0; i < hosts.size(); i++) {
      EgressHosts.Host host = hosts.get(i);
      if (!host.namespace().equals(EgressHosts.OWN_NAMESPACE)) {
        resolved.add(host);
      } else if (namespace.isEmpty()) {
        errors.add(
            FieldErrors.indexed("egress", i),
            "\"" + host + "\": the node names no NAMESPACE for \".\" to stand for");
      } else {
        resolved.add(new EgressHosts.Host(namespace, host.service()));
      }
    }
    if (!errors.isEmpty()) {
      return Validated.invalid(errors.toList());
    }
    if (resolved.isEmpty() || resolved.contains(new EgressHosts.Host("*", "*"))) {
      return Validated.valid(ALL);
    }
    // A Service named by itself and by a pattern is the pattern's: one view, not two.
    resolved.removeIf(
        host ->
            !host.isPattern()
                && (resolved.contains(new EgressHosts.Host(host.namespace(), EgressHosts.ANY))
                    || resolved.contains(new EgressHosts.Host(EgressHosts.ANY, host.service()))));
    return Validated.valid(new EgressView(List.copyOf(resolved)));
  }

  boolean isAll() {
    return hosts.isEmpty();
  }

  /** Whether the sidecar sees {@code service}. */
  boolean includes(ServiceKey service) {
    return hosts.isEmpty()
        || wholeNamespaces.contains(service.namespace())
        || namesInAnyNamespace.contains(service.name())
        || services.contains(service);
  }

  /** The normalized hosts, as written: empty for the whole mesh. */
  List<String> entries() {
    return hosts.stream().map(EgressHosts.Host::toString).toList();
  }

  /** About what the view holds, for the bound of the cache it keys. */
  int weight() {
    return 64 + 96 * hosts.size();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof EgressView view && hosts.equals(view.hosts);
  }

  @Override
  public int hashCode() {
    return hosts.hashCode();
  }

  @Override
  public String toString() {
    return isAll() ? "the whole mesh" : String.join(", ", entries());
  }
}
