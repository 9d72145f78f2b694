package dev.weft.registry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The validated configuration attached to one Service: the routes whose {@code parentRefs} name it
 * (Gateway API for service meshes, GAMMA) and, later, the policies whose {@code targetRefs} do.
 * Immutable. A snapshot shares the instance of every Service whose attachments did not change, so a
 * reader can tell by identity whether what it built from them is still current.
 *
 * @param configs in a deterministic order (kind, namespace, name); precedence among them is the
 *     translator's to decide
 */
public record ServiceAttachments(List<MeshConfig> configs) {

  public static final ServiceAttachments NONE = new ServiceAttachments(List.of());

  private static final Comparator<MeshConfig> ORDER = Comparator.comparing(MeshConfig::key);

  public ServiceAttachments {
    configs = List.copyOf(configs);
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
