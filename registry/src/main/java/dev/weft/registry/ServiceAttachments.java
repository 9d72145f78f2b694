package dev.weft.registry;

import dev.weft.registry.model.MeshRoute;
import dev.weft.registry.model.ResolvedPolicies;
import dev.weft.registry.model.RoutePrecedence;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The validated configuration attached to one Service (or, for policies on a whole namespace, to
 * the namespace): the routes whose {@code parentRefs} name it (Gateway API for service meshes,
 * GAMMA) and the policies whose {@code targetRefs} do. Immutable; which policies apply is settled
 * when it is made, once per change. A snapshot shares the instance of every Service whose
 * attachments did not change, so a reader can tell by identity whether what it built from them is
 * still current.
 *
 * @param configs in a deterministic order (kind, namespace, name)
 * @param routes the routes among them, decoded; {@link RoutePrecedence} orders their matches
 * @param policies the policies among them that apply, conflicts settled
 */
public record ServiceAttachments(
    List<MeshConfig> configs, List<MeshRoute> routes, ResolvedPolicies policies) {

  public static final ServiceAttachments NONE = new ServiceAttachments(List.of());

  private static final Comparator<MeshConfig> ORDER = Comparator.comparing(MeshConfig::key);

  public ServiceAttachments {
    configs = List.copyOf(configs);
    routes = List.copyOf(routes);
    Objects.requireNonNull(policies, "policies");
  }

  /** The attachments {@code configs}: their routes and the policies that apply derive from them. */
  public ServiceAttachments(List<MeshConfig> configs) {
    this(
        configs,
        configs.stream().flatMap(config -> config.route().stream()).toList(),
        PolicyResolution.of(configs));
  }

  public boolean isEmpty() {
    return configs.isEmpty();
  }

  /** These attachments with {@code config} added, or replacing the one with the same key. */
  ServiceAttachments with(MeshConfig config) {
    List<MeshConfig> next = new ArrayList<>(configs.size() + 1);
    for (MeshConfig existing : configs) {
      if (!existing.key().equals(config.key())) {
        next.add(existing);
      }
    }
    next.add(config);
    next.sort(ORDER);
    return new ServiceAttachments(next);
  }

  /** These attachments without the config {@code key}. */
  ServiceAttachments without(ObjectKey key) {
    List<MeshConfig> next = new ArrayList<>(configs.size());
    for (MeshConfig existing : configs) {
      if (!existing.key().equals(key)) {
        next.add(existing);
      }
    }
    return next.isEmpty() ? NONE : new ServiceAttachments(next);
  }
}
