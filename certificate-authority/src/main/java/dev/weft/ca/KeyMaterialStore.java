package dev.weft.ca;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where the CA keeps its key material and rotation state: named text entries, written whole. Two
 * kinds: files in a data directory ({@link #directory}) and one Kubernetes Secret ({@link
 * #kubernetesSecret}).
 */
public interface KeyMaterialStore {

  /** The stored entries, or empty when nothing was stored yet. */
  Optional<Map<String, String>> load() throws IOException;

  /**
   * Stores {@code entries} unless something is stored already, and returns what is stored after the
   * call: {@code entries} when this call created it, otherwise what another writer (another replica
   * starting at the same time) stored first. So every replica ends up with one CA.
   */
  Map<String, String> createIfAbsent(Map<String, String> entries) throws IOException;

  /** Replaces what is stored (after a rotation step), atomically. */
  void replace(Map<String, String> entries) throws IOException;

  /** A store in {@code directory}: one file, readable by its owner only, replaced atomically. */
  static KeyMaterialStore directory(Path directory) {
    return new DirectoryStore(directory);
  }

  /** One Secret {@code name} in {@code namespace} (the control plane's own). */
  static KeyMaterialStore kubernetesSecret(KubernetesClient client, String namespace, String name) {
    return new SecretStore(client, namespace, name);
  }
}
