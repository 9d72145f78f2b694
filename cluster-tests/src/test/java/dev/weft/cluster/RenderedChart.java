package dev.weft.cluster;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.type.TypeReference;

/**
 * The chart as {@code helm template} renders it (Helm runs in-process through helm-java: no helm
 * binary, no cluster), parsed into Fabric8's typed objects.
 */
final class RenderedChart {

  /** helm/weft, from the build (surefire), or relative to the module when run from an IDE. */
  static final Path CHART = Path.of(System.getProperty("weft.chart", "../helm/weft"));

  /** The value profiles beside the chart. */
  static final Path PROFILES = CHART.resolveSibling("profiles");

  /** The release the docs install: {@code helm install weft helm/weft -n weft-system}. */
  static final String RELEASE = "weft";

  static final String NAMESPACE = "weft-system";

  /**
   * Without a cluster Helm assumes Kubernetes 1.20 in helm-java (its build does not stamp the
   * client-go version), below the chart's kubeVersion; any version the chart supports will do.
   */
  static final String KUBE_VERSION = "v1.30.0";

  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  final String release;
  final String namespace;
  final String yaml;
  final List<HasMetadata> objects;

  private RenderedChart(String release, String namespace, String yaml) {
    this.release = release;
    this.namespace = namespace;
    this.yaml = yaml;
    this.objects = parseObjects(yaml);
  }

  /** Starts a {@code helm template} of the chart; the defaults are the documented release. */
  static Template template() {
    return new Template();
  }

  /** The chart with its default values. */
  static RenderedChart defaults() {
    return template().render();
  }

  /** The chart with a value profile from helm/profiles, e.g. {@code ha.yaml}. */
  static RenderedChart profile(String fileName) {
    return template().values(PROFILES.resolve(fileName)).render();
  }

  /** Options of one {@code helm template} run. */
  static final class Template {
    private String release = RELEASE;
    private String namespace = NAMESPACE;
    private final List<Path> valuesFiles = new ArrayList<>();
    private final Map<String, String> values = new LinkedHashMap<>();

    Template release(String name) {
      this.release = name;
      return this;
    }

    Template namespace(String name) {
      this.namespace = name;
      return this;
    }

    /** {@code -f file}; later files win, as with helm. */
    Template values(Path file) {
      valuesFiles.add(file);
      return this;
    }

    /** {@code --set key=value}; wins over files. */
    Template set(String key, String value) {
      values.put(key, value);
      return this;
    }

    /**
     * The rendered YAML; a value the chart refuses throws IllegalStateException with Helm's error.
     */
    String yaml() {
      TemplateCommand command =
          new Helm(CHART)
              .template()
              .withName(release)
              .withNamespace(namespace)
              .withKubeVersion(KUBE_VERSION);
      for (Path file : valuesFiles) {
        command.withValuesFile(file);
      }
      for (Map.Entry<String, String> value : values.entrySet()) {
        command.set(value.getKey(), value.getValue());
      }
      return command.call();
    }

    RenderedChart render() {
      return new RenderedChart(release, namespace, yaml());
    }
  }

  <T extends HasMetadata> List<T> all(Class<T> kind) {
    return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  /** The only object of a kind; fails when there is none or several. */
  <T extends HasMetadata> T one(Class<T> kind) {
    List<T> found = all(kind);
    if (found.size() != 1) {
      throw new AssertionError(
          "expected one " + kind.getSimpleName() + ", rendered " + found.size() + ":\n" + yaml);
    }
    return found.get(0);
  }

  <T extends HasMetadata> Optional<T> find(Class<T> kind, String name) {
    return all(kind).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst();
  }

  Deployment deployment() {
    return one(Deployment.class);
  }

  /** Weft's container (the pod has no other). */
  Container container() {
    List<Container> containers = deployment().getSpec().getTemplate().getSpec().getContainers();
    if (containers.size() != 1) {
      throw new AssertionError("expected one container, rendered " + containers.size());
    }
    return containers.get(0);
  }

  /** The container's port of this name, if it has one. */
  Optional<Integer> containerPort(String name) {
    return container().getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst();
  }

  Service service() {
    return one(Service.class);
  }

  ConfigMap configMap() {
    return one(ConfigMap.class);
  }

  /** The application settings the chart writes: the ConfigMap's application.yaml, parsed. */
  Map<String, Object> settings() {
    String text = configMap().getData().get("application.yaml");
    if (text == null) {
      throw new AssertionError("the ConfigMap has no application.yaml:\n" + yaml);
    }
    return parseYaml(text);
  }

  /** The application's built-in settings (controller's application.yaml). */
  static Map<String, Object> applicationDefaults() {
    Path file =
        Path.of(
            System.getProperty(
                "weft.application-yaml", "../controller/src/main/resources/application.yaml"));
    try {
      return parseYaml(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Map<String, Object> parseYaml(String text) {
    return SERIALIZATION.unmarshal(text, new TypeReference<Map<String, Object>>() {});
  }

  /**
   * A nested value by its property path ({@code weft.xds.port}); empty when a step is missing. Keys
   * that contain dots themselves cannot be reached this way.
   */
  static Optional<Object> at(Map<String, Object> yaml, String path) {
    Object current = yaml;
    for (String key : path.split("\\.", -1)) {
      if (!(current instanceof Map<?, ?> map) || !map.containsKey(key)) {
        return Optional.empty();
      }
      current = map.get(key);
    }
    return Optional.ofNullable(current);
  }

  /** Helm's output is one stream of documents; Fabric8 gives a list, or one object for one. */
  private static List<HasMetadata> parseObjects(String yaml) {
    Object parsed = SERIALIZATION.unmarshal(yaml);
    List<HasMetadata> objects = new ArrayList<>();
    if (parsed instanceof List<?> list) {
      for (Object o : list) {
        if (o != null) {
          objects.add((HasMetadata) o);
        }
      }
    } else if (parsed != null) {
      objects.add((HasMetadata) parsed);
    }
    return List.copyOf(objects);
  }
}
