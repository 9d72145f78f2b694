package dev.weft.cluster;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the chart's Deployment runs a replica, read from the rendered chart, so that the cluster
 * tests start the image exactly so: its environment, its settings file where the ConfigMap is
 * mounted, its memory limit, its user, a read-only root file system, and its probes.
 *
 * @param env the container's environment, with the Downward API fields a test fills in per replica
 *     ({@code metadata.name}, {@code metadata.namespace}) marked as {@code $(field)}
 */
record PodTemplate(
    String image,
    Map<String, String> env,
    String configMountPath,
    String applicationYaml,
    long memoryLimitBytes,
    long runAsUser,
    boolean readOnlyRootFilesystem,
    String startupPath,
    String livenessPath,
    String readinessPath) {

  static PodTemplate of(RenderedChart chart) {
    Container container = chart.container();
    PodSpec pod = chart.deployment().getSpec().getTemplate().getSpec();
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar variable : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
      if (variable.getValue() != null) {
        env.put(variable.getName(), variable.getValue());
      } else if (variable.getValueFrom() != null && variable.getValueFrom().getFieldRef() != null) {
        env.put(
            variable.getName(), "$(" + variable.getValueFrom().getFieldRef().getFieldPath() + ")");
      } else {
        throw new AssertionError("the test cannot provide " + variable);
      }
    }
    String configVolume =
        pod.getVolumes().stream()
            .filter(v -> v.getConfigMap() != null)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no ConfigMap volume in the Deployment"))
            .getName();
    VolumeMount mount =
        container.getVolumeMounts().stream()
            .filter(m -> m.getName().equals(configVolume))
            .findFirst()
            .orElseThrow(() -> new AssertionError("the ConfigMap volume is not mounted"));
    Long user =
        container.getSecurityContext() == null
            ? null
            : container.getSecurityContext().getRunAsUser();
    if (user == null) {
      user = pod.getSecurityContext().getRunAsUser();
    }
    return new PodTemplate(
        container.getImage(),
        env,
        mount.getMountPath(),
        chart.configMap().getData().get("application.yaml"),
        Quantity.getAmountInBytes(container.getResources().getLimits().get("memory"))
            .longValueExact(),
        user,
        Boolean.TRUE.equals(container.getSecurityContext().getReadOnlyRootFilesystem()),
        path(container.getStartupProbe()),
        path(container.getLivenessProbe()),
        path(container.getReadinessProbe()));
  }

  private static String path(Probe probe) {
    if (probe == null || probe.getHttpGet() == null) {
      throw new AssertionError("every probe of the chart is an HTTP GET: " + probe);
    }
    return probe.getHttpGet().getPath();
  }

  /** The environment of one replica: the Downward API fields filled in as the kubelet would. */
  Map<String, String> envFor(String podName, String namespace) {
    Map<String, String> resolved = new LinkedHashMap<>();
    env.forEach(
        (name, value) ->
            resolved.put(
                name,
                value
                    .replace("$(metadata.name)", podName)
                    .replace("$(metadata.namespace)", namespace)));
    return resolved;
  }
}
