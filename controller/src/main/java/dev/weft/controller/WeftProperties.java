package dev.weft.controller;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Weft's configuration, bound once from {@code weft.*} properties and passed down.
 *
 * @param mode where the registry reads the mesh from
 * @param configDir the directory of Kubernetes-format YAML read in standalone mode
 * @param kubernetes settings for Kubernetes mode
 */
@ConfigurationProperties(prefix = "weft")
public record WeftProperties(
    @DefaultValue("auto") Mode mode,
    @DefaultValue("examples/demo") Path configDir,
    @DefaultValue Kubernetes kubernetes) {

  /** Where the registry reads the mesh from. */
  public enum Mode {
    /** Kubernetes when running in a cluster, standalone otherwise. */
    AUTO,
    /** Watch the Kubernetes API through informers. */
    KUBERNETES,
    /** Read and watch {@code weft.config-dir}. */
    STANDALONE
  }

  /**
   * Settings for Kubernetes mode.
   *
   * @param namespaces the namespaces to watch; empty means all
   */
  public record Kubernetes(@DefaultValue List<String> namespaces) {}
}
