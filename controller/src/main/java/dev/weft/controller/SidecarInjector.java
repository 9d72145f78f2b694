package dev.weft.controller;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.Bootstrap;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a Pod needs to join the mesh with an Envoy sidecar, added at admission as Istio's injector
 * does: an init container that redirects its traffic through Envoy ({@link TrafficRedirect}), the
 * workload agent as a native sidecar (it gets the workload's certificate from Weft's CA and serves
 * it to Envoy over SDS), and Envoy itself, bootstrapped to Weft. Pure: a Pod in, a Pod or a reason
 * out; the Kubernetes objects it adds are described in docs/envoy.md#injection.
 *
 * <p>The order matters. {@code weft-init} and {@code weft-agent} go after the Pod's own init
 * containers, so those run before traffic is redirected (Envoy, a regular container, is not running
 * yet, and their connections would be refused). The agent is an init container with {@code
 * restartPolicy: Always}, a Kubernetes native sidecar (1.29+): it starts before Envoy and the
 * application and runs as long as the Pod, and does not keep a Job's Pod from completing. Envoy is
 * appended to the containers, so the application stays the Pod's default container ({@code kubectl
 * logs}, {@code exec}).
 *
 * <p>Immutable and thread-safe: {@code upstream} is read once per call.
 */
final class SidecarInjector {

  /** Namespace label {@code enabled}: inject; Pod label or annotation {@code "false"}: don't. */
  static final String INJECT = "weft.dev/inject";

  /**
   * Pod annotation: the Services the workload calls (its sidecar's egress hosts, {@link
   * EgressHosts}), entries separated by commas or white space; absent, the sidecar sees the whole
   * mesh.
   */
  static final String EGRESS = "weft.dev/egress";

  /** Set on every Pod injected, so that a second pass (reinvocation, a retry) changes nothing. */
  static final String INJECTED = "weft.dev/injected";

  static final String INIT_CONTAINER = "weft-init";
  static final String AGENT_CONTAINER = "weft-agent";
  static final String PROXY_CONTAINER = "weft-proxy";

  /** The environment variable Envoy's OpenTelemetry environment resource detector reads. */
  static final String OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES";

  static final String TOKEN_VOLUME = "weft-token";
  static final String CA_VOLUME = "weft-ca";
  static final String SDS_VOLUME = "weft-sds";
  static final String CERTS_VOLUME = "weft-certs";
  static final String AGENT_TMP_VOLUME = "weft-agent-tmp";

  private static final String TOKEN_DIR = "/var/run/weft/token";
  private static final String CA_DIR = "/var/run/weft/ca";
  private static final String CERTS_DIR = "/var/run/weft/certs";
  private static final String SDS_DIR = EnvoyBootstrap.DEFAULT_SDS_SOCKET.getParent().toString();

  /** The kubelet rotates the token at 80% of this; the CA only needs it for a first certificate. */
  private static final long TOKEN_SECONDS = 3600;

  private static final Set<String> CONTAINERS =
      Set.of(INIT_CONTAINER, AGENT_CONTAINER, PROXY_CONTAINER);

  private static final Set<String> VOLUMES =
      Set.of(TOKEN_VOLUME, CA_VOLUME, SDS_VOLUME, CERTS_VOLUME, AGENT_TMP_VOLUME);

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /**
   * One of Weft's containers: its image and resources.
   *
   * @param setting the property that sets the image, named when it is missing
   */
  record ContainerTemplate(String setting, String image, ResourceRequirements resources) {
    ContainerTemplate {
      Objects.requireNonNull(setting, "setting");
      image = image == null ? "" : image.trim();
      Objects.requireNonNull(resources, "resources");
    }
  }

  /**
   * What every injection adds, from the settings.
   *
   * @param init the {@code weft-init} container: an image with {@code /bin/sh} and {@code
   *     iptables-restore}
   * @param agent the {@code weft-agent} container: Weft's own image, which runs the agent
   * @param proxy the {@code weft-proxy} container: Envoy
   * @param controlPlaneNamespace Pods there are never injected (Weft's own among them)
   * @param controlPlaneSpiffeId the only identity the agent accepts from the CA
   * @param trustBundleConfigMap the ConfigMap (key {@code ca.crt}) the leader keeps in every mesh
   *     namespace
   * @param tokenAudience the audience of the agent's ServiceAccount token; empty: the API server's
   */
  record Settings(
      ContainerTemplate init,
      ContainerTemplate agent,
      ContainerTemplate proxy,
      String controlPlaneNamespace,
      String controlPlaneSpiffeId,
      String trustBundleConfigMap,
      String tokenAudience) {
    Settings {
      Objects.requireNonNull(init, "init");
      Objects.requireNonNull(agent, "agent");
      Objects.requireNonNull(proxy, "proxy");
      Objects.requireNonNull(controlPlaneNamespace, "controlPlaneNamespace");
      Objects.requireNonNull(controlPlaneSpiffeId, "controlPlaneSpiffeId");
      trustBundleConfigMap = trustBundleConfigMap == null ? "" : trustBundleConfigMap;
      tokenAudience = tokenAudience == null ? "" : tokenAudience;
    }

    /** The settings injection cannot do without, each with what is wrong. */
    FieldErrors problems() {
      FieldErrors errors = new FieldErrors();
      for (ContainerTemplate container : List.of(init, agent, proxy)) {
        if (container.image().isEmpty()) {
          errors.add(container.setting(), "no image is set");
        }
      }
      if (trustBundleConfigMap.isEmpty()) {
        errors.add(
            "weft.ca.trust-bundle-config-map",
            "is empty: the agent would have no trust bundle to mount");
      }
      return errors;
    }
  }

  /**
   * Where the sidecar reaches Weft, known once the CA serves (its port may be picked at start).
   *
   * @param caAddress {@code host:port} of the CA, for the agent
   * @param controlPlane xDS, for Envoy's bootstrap
   */
  record Upstream(String caAddress, EnvoyBootstrap.ControlPlane controlPlane) {}

  /** What injection did to a Pod it could handle. */
  sealed interface Injection {}

  /**
   * The Pod with its sidecar.
   *
   * @param warnings what the Pod asks for that its sidecar does not do, for the client to see
   */
  record Injected(Pod pod, List<String> warnings) implements Injection {
    Injected {
      warnings = List.copyOf(warnings);
    }
  }

  /** The Pod as it came, and why: opted out, host network, already injected. */
  record Skipped(String reason) implements Injection {}

  private final Settings settings;
  private final Supplier<Upstream> upstream;

  SidecarInjector(Settings settings, Supplier<Upstream> upstream) {
    this.settings = Objects.requireNonNull(settings);
    this.upstream = Objects.requireNonNull(upstream);
  }

  /**
   * The Pod with what its sidecar needs; or why it is left as it is; or, for a Pod that cannot be
   * injected (its ports or volumes clash with the sidecar's, a setting is missing), the fields that
   * stop it. {@code pod} is not modified.
   *
   * @param namespace the Pod's namespace: the admission request's, since a Pod made by a controller
   *     has none in its metadata yet
   */
  Validated<Injection> inject(Pod pod, String namespace) {
    Map<String, String> labels =
        map(pod.getMetadata() == null ? null : pod.getMetadata().getLabels());
    Map<String, String> annotations =
        map(pod.getMetadata() == null ? null : pod.getMetadata().getAnnotations());
    PodSpec spec = pod.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    if (namespace.equals(settings.controlPlaneNamespace())) {
      return skipped("the control plane's namespace " + namespace + " is never injected");
    }
    if ("false".equals(annotations.get(INJECT)) || "false".equals(labels.get(INJECT))) {
      return skipped("opted out with " + INJECT + "=false");
    }
    if ("true".equals(annotations.get(INJECTED))
        || Stream.concat(
                list(spec.getInitContainers()).stream(), list(spec.getContainers()).stream())
            .anyMatch(c -> CONTAINERS.contains(c.getName()))) {
      return skipped("already injected");
    }
    if (Boolean.TRUE.equals(spec.getHostNetwork())) {
      return skipped("hostNetwork: redirecting its traffic would redirect the node's");
    }
    FieldErrors errors = settings.problems();
    checkPod(spec, errors);
    if (!errors.isEmpty()) {
      return Validated.invalid(errors.toList());
    }
    Upstream where;
    try {
      where = upstream.get();
    } catch (IllegalStateException e) {
      return Validated.invalid("weft", e.getMessage());
    }
    String serviceAccount =
        spec.getServiceAccountName() == null || spec.getServiceAccountName().isEmpty()
            ? "default"
            : spec.getServiceAccountName();
    List<String> warnings = new ArrayList<>();
    String bootstrap =
        compact(
            EnvoyBootstrap.json(
                new EnvoyBootstrap.Proxy(
                    EnvoyBootstrap.ProxyType.SIDECAR,
                    // The kubelet expands $(POD_NAME) and $(POD_IP) in the proxy's arguments from
                    // its environment: a Pod made by a controller has no name yet, nor any address.
                    new Bootstrap.Workload(namespace, serviceAccount, "$(POD_NAME)", ""),
                    "$(POD_IP)",
                    labels,
                    egress(annotations.get(EGRESS), warnings)),
                where.controlPlane()));
    Pod injected =
        new PodBuilder(pod)
            .editOrNewMetadata()
            .addToAnnotations(INJECTED, "true")
            .endMetadata()
            .editSpec()
            .addToInitContainers(initContainer(), agentContainer(where.caAddress()))
            .addToContainers(proxyContainer(bootstrap, namespace, serviceAccount))
            .addAllToVolumes(volumes())
            .endSpec()
            .build();
    return Validated.valid(new Injected(injected, warnings));
  }

  /**
   * The egress hosts the annotation declares. One that does not parse is left out of the bootstrap
   * as a whole, with a warning naming each bad entry: the sidecar then sees the whole mesh, as Weft
   * does with a node's invalid declaration (see AdsStream), since a mistake in scoping should cost
   * memory, never traffic. The Pod is injected all the same: without a sidecar it would be outside
   * the mesh.
   */
  private static List<EgressHosts.Host> egress(String annotation, List<String> warnings) {
    if (annotation == null) {
      return List.of();
    }
    Validated<List<EgressHosts.Host>> hosts = EgressHosts.parse(EgressHosts.split(annotation));
    if (hosts instanceof Validated.Valid<List<EgressHosts.Host>> valid) {
      return valid.value();
    }
    warnings.add(
        "weft: "
            + EGRESS
            + " ignored, the sidecar sees the whole mesh: "
            + String.join("; ", hosts.errors().stream().map(FieldError::reason).toList()));
    return List.of();
  }

  private static Validated<Injection> skipped(String reason) {
    return Validated.valid(new Skipped(reason));
  }

  /** Ports and volume names of the Pod's own that would clash with the sidecar's. */
  private static void checkPod(PodSpec spec, FieldErrors errors) {
    List<Container> containers = list(spec.getContainers());
    if (containers.isEmpty()) {
      errors.add("spec.containers", "required");
    }
    for (int i = 0; i < containers.size(); i++) {
      List<ContainerPort> ports = list(containers.get(i).getPorts());
      for (int j = 0; j < ports.size(); j++) {
        Integer port = ports.get(j).getContainerPort();
        if (port != null
            && port >= TrafficRedirect.FIRST_RESERVED_PORT
            && port <= TrafficRedirect.LAST_RESERVED_PORT) {
          errors.add(
              FieldErrors.indexed(FieldErrors.indexed("spec.containers", i) + ".ports", j)
                  + ".containerPort",
              port
                  + " is in "
                  + TrafficRedirect.FIRST_RESERVED_PORT
                  + "-"
                  + TrafficRedirect.LAST_RESERVED_PORT
                  + ", the ports of Weft's sidecar");
        }
      }
    }
    List<Volume> volumes = list(spec.getVolumes());
    for (int i = 0; i < volumes.size(); i++) {
      if (VOLUMES.contains(volumes.get(i).getName())) {
        errors.add(
            FieldErrors.indexed("spec.volumes", i) + ".name",
            "\"" + volumes.get(i).getName() + "\" is the name of a volume of Weft's sidecar");
      }
    }
  }

  /**
   * Applies {@link TrafficRedirect}: root with NET_ADMIN and NET_RAW in the Pod's network namespace
   * only, for the moment it runs. Its root file system stays writable: iptables takes its lock in
   * {@code /run/xtables.lock}.
   */
  private Container initContainer() {
    return new ContainerBuilder()
        .withName(INIT_CONTAINER)
        .withImage(settings.init().image())
        .withCommand("/bin/sh", "-c")
        .withArgs(TrafficRedirect.script())
        .withResources(settings.init().resources())
        .withSecurityContext(
            new SecurityContextBuilder()
                .withRunAsUser(0L)
                .withRunAsGroup(0L)
                .withRunAsNonRoot(false)
                .withPrivileged(false)
                .withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(false)
                .withNewCapabilities()
                .withAdd("NET_ADMIN", "NET_RAW")
                .withDrop("ALL")
                .endCapabilities()
                .build())
        .build();
  }

  /**
   * The workload agent, as a native sidecar: Weft's image with its {@code agent} command. It runs
   * as the proxy's user, so that its connections to the CA are not redirected into Envoy, and so
   * that Envoy, the same user, may connect to the SDS socket it creates.
   */
  private Container agentContainer(String caAddress) {
    return new ContainerBuilder()
        .withName(AGENT_CONTAINER)
        .withImage(settings.agent().image())
        .withArgs(
            "agent",
            "--ca=" + caAddress,
            "--ca-bundle=" + CA_DIR + "/" + TrustBundlePublisher.KEY,
            "--ca-spiffe-id=" + settings.controlPlaneSpiffeId(),
            "--token-file=" + TOKEN_DIR + "/token",
            "--out=" + CERTS_DIR,
            "--sds-socket=" + EnvoyBootstrap.DEFAULT_SDS_SOCKET)
        .withRestartPolicy("Always")
        .withResources(settings.agent().resources())
        .withSecurityContext(proxyUser())
        .withVolumeMounts(
            mount(TOKEN_VOLUME, TOKEN_DIR, true),
            mount(CA_VOLUME, CA_DIR, true),
            mount(SDS_VOLUME, SDS_DIR, false),
            mount(CERTS_VOLUME, CERTS_DIR, false),
            // The JVM's java.io.tmpdir on a read-only root file system.
            mount(AGENT_TMP_VOLUME, "/tmp", false))
        .build();
  }

  /**
   * Envoy, run directly ({@code envoy}, not the official image's entrypoint script, which changes
   * users and needs root).
   */
  private Container proxyContainer(String bootstrap, String namespace, String serviceAccount) {
    return new ContainerBuilder()
        .withName(PROXY_CONTAINER)
        .withImage(settings.proxy().image())
        .withCommand("envoy")
        .withArgs("--config-yaml", bootstrap, "--log-level", "warning")
        .withEnv(
            field("POD_NAME", "metadata.name"),
            field("POD_NAMESPACE", "metadata.namespace"),
            field("POD_IP", "status.podIP"),
            // Who the proxy's spans are of, for Envoy's OpenTelemetry tracer when a Telemetry
            // turns tracing on: its outbound Listener is shared by many workloads, so the
            // workload's name comes from here (the environment resource detector), not from it.
            // The workload is its ServiceAccount, as for the golden metrics; the kubelet expands
            // $(POD_NAME) from the variable above.
            new EnvVarBuilder()
                .withName(OTEL_RESOURCE_ATTRIBUTES)
                .withValue(
                    "service.name="
                        + serviceAccount
                        + "."
                        + namespace
                        + ",k8s.namespace.name="
                        + namespace
                        + ",k8s.pod.name=$(POD_NAME)")
                .build())
        .withResources(settings.proxy().resources())
        .withSecurityContext(proxyUser())
        .withVolumeMounts(mount(SDS_VOLUME, SDS_DIR, false))
        .build();
  }

  private static SecurityContext proxyUser() {
    return new SecurityContextBuilder()
        .withRunAsUser(TrafficRedirect.PROXY_UID)
        .withRunAsGroup(TrafficRedirect.PROXY_UID)
        .withRunAsNonRoot(true)
        .withReadOnlyRootFilesystem(true)
        .withAllowPrivilegeEscalation(false)
        .withNewCapabilities()
        .withDrop("ALL")
        .endCapabilities()
        .build();
  }

  private List<Volume> volumes() {
    return List.of(
        new VolumeBuilder()
            .withName(TOKEN_VOLUME)
            .withNewProjected()
            .addNewSource()
            .withNewServiceAccountToken()
            .withAudience(settings.tokenAudience().isEmpty() ? null : settings.tokenAudience())
            .withExpirationSeconds(TOKEN_SECONDS)
            .withPath("token")
            .endServiceAccountToken()
            .endSource()
            .endProjected()
            .build(),
        new VolumeBuilder()
            .withName(CA_VOLUME)
            .withNewConfigMap()
            .withName(settings.trustBundleConfigMap())
            .endConfigMap()
            .build(),
        // The SDS socket and the key files: in memory, never on the node's disk.
        new VolumeBuilder()
            .withName(SDS_VOLUME)
            .withNewEmptyDir()
            .withMedium("Memory")
            .endEmptyDir()
            .build(),
        new VolumeBuilder()
            .withName(CERTS_VOLUME)
            .withNewEmptyDir()
            .withMedium("Memory")
            .endEmptyDir()
            .build(),
        new VolumeBuilder().withName(AGENT_TMP_VOLUME).withNewEmptyDir().endEmptyDir().build());
  }

  private static VolumeMount mount(String volume, String path, boolean readOnly) {
    VolumeMount mount = new VolumeMount();
    mount.setName(volume);
    mount.setMountPath(path);
    if (readOnly) {
      mount.setReadOnly(true);
    }
    return mount;
  }

  private static EnvVar field(String name, String path) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withFieldPath(path)
        .endFieldRef()
        .endValueFrom()
        .build();
  }

  /** Envoy's bootstrap without its indentation: it is stored with every Pod, in etcd. */
  private static String compact(String json) {
    return JSON.readTree(json).toString();
  }

  private static <T> List<T> list(List<T> values) {
    return values == null ? List.of() : values;
  }

  private static Map<String, String> map(Map<String, String> values) {
    return values == null ? Map.of() : values;
  }
}
