package dev.weft.cluster;

import static dev.weft.cluster.RenderedChart.NAMESPACE;
import static dev.weft.cluster.RenderedChart.at;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Helm chart as a platform engineer installs it: it lints, renders with its defaults and each
 * profile, agrees with the application it deploys (ports, probes, settings), and grants exactly the
 * access the application needs.
 */
class HelmChartTest {

  /** The application's built-in settings, which the chart must agree with. */
  static final Map<String, Object> APPLICATION = RenderedChart.applicationDefaults();

  /**
   * What a values profile must render to.
   *
   * @param file the profile in helm/profiles; null: the chart's defaults
   * @param minAvailable the PodDisruptionBudget's; null with maxUnavailable: no budget rendered
   * @param maxUnavailable the PodDisruptionBudget's
   */
  record Profile(
      String file,
      int replicas,
      boolean hardAntiAffinity,
      String zoneSpread,
      String memory,
      Integer minAvailable,
      Integer maxUnavailable) {

    @Override
    public String toString() {
      return file == null ? "defaults" : file;
    }
  }

  static final List<Profile> PROFILES =
      List.of(
          new Profile(null, 3, false, "ScheduleAnyway", "768Mi", null, 1),
          new Profile("ha.yaml", 5, true, "DoNotSchedule", "1536Mi", 3, null),
          new Profile("minimal.yaml", 1, false, "ScheduleAnyway", "384Mi", null, null));

  /** Each profile is rendered once; Helm renders deterministically. */
  private static final Map<Profile, RenderedChart> RENDERED = new ConcurrentHashMap<>();

  static Stream<Profile> profiles() {
    return PROFILES.stream();
  }

  static RenderedChart rendered(Profile profile) {
    return RENDERED.computeIfAbsent(
        profile,
        p -> p.file() == null ? RenderedChart.defaults() : RenderedChart.profile(p.file()));
  }

  static RenderedChart defaults() {
    return rendered(PROFILES.get(0));
  }

  @Test
  void lintsStrictly() {
    LintResult result = new Helm(RenderedChart.CHART).lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void spreadsReplicasOverNodesAndZones(Profile profile) {
    RenderedChart chart = rendered(profile);
    PodSpec pod = chart.deployment().getSpec().getTemplate().getSpec();
    Map<String, String> selector = chart.deployment().getSpec().getSelector().getMatchLabels();

    assertThat(chart.deployment().getSpec().getReplicas()).isEqualTo(profile.replicas());
    assertThat(chart.deployment().getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(selector);
    var antiAffinity = pod.getAffinity().getPodAntiAffinity();
    if (profile.hardAntiAffinity()) {
      assertThat(antiAffinity.getPreferredDuringSchedulingIgnoredDuringExecution()).isEmpty();
      assertThat(antiAffinity.getRequiredDuringSchedulingIgnoredDuringExecution())
          .singleElement()
          .satisfies(
              term -> {
                assertThat(term.getTopologyKey()).isEqualTo("kubernetes.io/hostname");
                assertThat(term.getLabelSelector().getMatchLabels()).isEqualTo(selector);
              });
    } else {
      assertThat(antiAffinity.getRequiredDuringSchedulingIgnoredDuringExecution()).isEmpty();
      assertThat(antiAffinity.getPreferredDuringSchedulingIgnoredDuringExecution())
          .singleElement()
          .satisfies(
              weighted -> {
                assertThat(weighted.getPodAffinityTerm().getTopologyKey())
                    .isEqualTo("kubernetes.io/hostname");
                assertThat(weighted.getPodAffinityTerm().getLabelSelector().getMatchLabels())
                    .isEqualTo(selector);
              });
    }
    assertThat(pod.getTopologySpreadConstraints())
        .singleElement()
        .satisfies(
            (TopologySpreadConstraint spread) -> {
              assertThat(spread.getTopologyKey()).isEqualTo("topology.kubernetes.io/zone");
              assertThat(spread.getMaxSkew()).isEqualTo(1);
              assertThat(spread.getWhenUnsatisfiable()).isEqualTo(profile.zoneSpread());
              assertThat(spread.getLabelSelector().getMatchLabels()).isEqualTo(selector);
            });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void probesAskTheApplicationsHealthGroupsOnTheMonitoringPort(Profile profile) {
    Container container = rendered(profile).container();

    assertProbe(container, container.getStartupProbe(), "/actuator/health/liveness");
    assertProbe(container, container.getLivenessProbe(), "/actuator/health/liveness");
    assertProbe(container, container.getReadinessProbe(), "/actuator/health/readiness");
    // Long enough for a slow start; a draining replica leaves the Service after one failure.
    assertThat(container.getStartupProbe().getFailureThreshold()).isEqualTo(60);
    assertThat(container.getReadinessProbe().getFailureThreshold()).isEqualTo(1);
    assertThat(container.getReadinessProbe().getPeriodSeconds()).isEqualTo(2);
  }

  private static void assertProbe(Container container, Probe probe, String path) {
    assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
    assertThat(probe.getHttpGet().getPort()).isEqualTo(new IntOrString("http-monitoring"));
    assertThat(container.getPorts()).extracting(ContainerPort::getName).contains("http-monitoring");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void runsUnprivilegedOnAReadOnlyRootFileSystem(Profile profile) {
    RenderedChart chart = rendered(profile);
    PodSecurityContext pod =
        chart.deployment().getSpec().getTemplate().getSpec().getSecurityContext();
    SecurityContext container = chart.container().getSecurityContext();

    assertThat(pod.getRunAsNonRoot()).isTrue();
    assertThat(pod.getRunAsUser()).isEqualTo(65532L);
    assertThat(pod.getRunAsGroup()).isEqualTo(65532L);
    assertThat(pod.getFsGroup()).isEqualTo(65532L);
    assertThat(pod.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(container.getAllowPrivilegeEscalation()).isFalse();
    assertThat(container.getReadOnlyRootFilesystem()).isTrue();
    assertThat(container.getCapabilities().getDrop()).containsExactly("ALL");
    // The JVM's only writable path.
    assertThat(volumeAt(chart, "/tmp").getEmptyDir()).isNotNull();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void setsResourcesAndTheDisruptionBudget(Profile profile) {
    RenderedChart chart = rendered(profile);
    var resources = chart.container().getResources();

    assertThat(resources.getRequests()).containsKeys("cpu", "memory");
    assertThat(resources.getRequests().get("memory")).isEqualTo(new Quantity(profile.memory()));
    assertThat(resources.getLimits().get("memory")).isEqualTo(new Quantity(profile.memory()));
    if (profile.minAvailable() == null && profile.maxUnavailable() == null) {
      assertThat(chart.all(PodDisruptionBudget.class)).isEmpty();
      return;
    }
    PodDisruptionBudget pdb = chart.one(PodDisruptionBudget.class);
    assertThat(pdb.getSpec().getSelector().getMatchLabels())
        .isEqualTo(chart.deployment().getSpec().getSelector().getMatchLabels());
    assertThat(pdb.getSpec().getMinAvailable()).isEqualTo(intOrNull(profile.minAvailable()));
    assertThat(pdb.getSpec().getMaxUnavailable()).isEqualTo(intOrNull(profile.maxUnavailable()));
  }

  private static IntOrString intOrNull(Integer value) {
    return value == null ? null : new IntOrString(value);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void grantsNoWildcards(Profile profile) {
    assertThat(RbacRules.of(rendered(profile)).wildcards()).isEmpty();
  }

  @Test
  void containerPortsAreTheApplicationsPorts() {
    RenderedChart chart = defaults();
    Map<String, Object> settings = chart.settings();

    assertThat(chart.containerPort("http")).contains(setting(APPLICATION, "server.port"));
    assertThat(chart.containerPort("http-monitoring"))
        .contains(setting(APPLICATION, "management.server.port"));
    assertThat(chart.containerPort("grpc-ca")).contains(setting(APPLICATION, "weft.ca.port"));
    assertThat(chart.containerPort("grpc-ca")).contains(setting(settings, "weft.ca.port"));
    // No plaintext xDS by default: proxies come in over mutual TLS, on the CA's port.
    assertThat(chart.containerPort("grpc-xds")).isEmpty();
    assertThat(setting(settings, "weft.xds.port")).isEqualTo(-1);
    // The ConfigMap may not move the HTTP ports away from the ones the probes and Service use.
    assertThat(at(settings, "server.port")).isEmpty();
    assertThat(at(settings, "management.server.port")).isEmpty();
  }

  @Test
  void plaintextXdsIsAPortOfItsOwn() {
    RenderedChart chart = RenderedChart.template().set("xds.plaintext", "true").render();

    assertThat(chart.containerPort("grpc-xds"))
        .contains(setting(chart.settings(), "weft.xds.port"));
    assertThat(setting(chart.settings(), "weft.xds.port")).isEqualTo(15010);
    assertThat(chart.service().getSpec().getPorts())
        .extracting(ServicePort::getName)
        .containsExactly("grpc-xds", "grpc-ca", "http", "http-monitoring", "https-webhook");
    assertThat(at(chart.settings(), "weft.xds.advertised-address"))
        .contains("weft.weft-system.svc:" + servicePort(chart, "grpc-xds"));
  }

  @ParameterizedTest(name = "xds.plaintext={0}")
  @ValueSource(booleans = {false, true})
  void serviceTargetsTheContainersPortsByName(boolean plaintext) {
    RenderedChart chart =
        RenderedChart.template().set("xds.plaintext", String.valueOf(plaintext)).render();

    assertThat(chart.service().getSpec().getType()).isEqualTo("ClusterIP");
    assertThat(chart.service().getSpec().getSelector())
        .isEqualTo(chart.deployment().getSpec().getSelector().getMatchLabels());
    assertThat(chart.service().getSpec().getPorts())
        .extracting(ServicePort::getName)
        .containsExactlyElementsOf(
            plaintext
                ? List.of("grpc-xds", "grpc-ca", "http", "http-monitoring", "https-webhook")
                : List.of("grpc-ca", "http", "http-monitoring", "https-webhook"));
    for (ServicePort port : chart.service().getSpec().getPorts()) {
      String target = port.getTargetPort().getStrVal();
      assertThat(target).as("%s targets a port by name", port.getName()).isNotNull();
      if (port.getName().equals("https-webhook")) {
        // The API server calls webhooks on 443 (theInjectionWebhookCallsTheServiceOn443...).
        continue;
      }
      assertThat(chart.containerPort(target))
          .as("%s targets container port %s", port.getName(), target)
          .contains(port.getPort());
      if (port.getName().startsWith("grpc-")) {
        assertThat(port.getAppProtocol()).isEqualTo("grpc");
      }
    }
  }

  @Test
  void workloadsAreSentToTheirAgentsXdsProxy() {
    RenderedChart chart = defaults();
    Map<String, Object> settings = chart.settings();
    String service = chart.service().getMetadata().getName() + "." + NAMESPACE + ".svc";

    assertThat(at(settings, "weft.mode")).contains("kubernetes");
    // The agent in the workload's pod listens there and carries the streams over mutual TLS.
    assertThat(at(settings, "weft.xds.advertised-address")).contains("127.0.0.1:15010");
    assertThat(at(settings, "weft.ca.dns-names"))
        .contains(List.of(service, service + ".cluster.local"));
  }

  @Test
  void theApplicationReadsTheConfigMap() {
    RenderedChart chart = defaults();
    Container container = chart.container();
    Volume config = volumeAt(chart, "/etc/weft");

    assertThat(config.getConfigMap().getName())
        .isEqualTo(chart.configMap().getMetadata().getName());
    assertThat(chart.configMap().getData()).containsKey("application.yaml");
    assertThat(container.getVolumeMounts())
        .filteredOn(m -> m.getMountPath().equals("/etc/weft"))
        .extracting(VolumeMount::getReadOnly)
        .containsExactly(true);
    assertThat(env(container, "SPRING_CONFIG_ADDITIONAL_LOCATION").getValue())
        .isEqualTo("optional:file:/etc/weft/");
    assertThat(env(container, "WEFT_KUBERNETES_IDENTITY").getValueFrom().getFieldRef())
        .satisfies(f -> assertThat(f.getFieldPath()).isEqualTo("metadata.name"));
    assertThat(env(container, "WEFT_KUBERNETES_CONTROL_PLANE_NAMESPACE").getValueFrom())
        .satisfies(v -> assertThat(v.getFieldRef().getFieldPath()).isEqualTo("metadata.namespace"));
    // The other replicas reach this one at its Pod's IP address.
    assertThat(env(container, "POD_IP").getValueFrom().getFieldRef())
        .satisfies(f -> assertThat(f.getFieldPath()).isEqualTo("status.podIP"));
    assertThat(env(container, "WEFT_KUBERNETES_REPLICAS_PEER_ADDRESS").getValue())
        .isEqualTo("http://$(POD_IP):" + chart.containerPort("http").orElseThrow());
    assertThat(container.getEnv())
        .extracting(EnvVar::getName)
        .as("POD_IP is defined before the address that refers to it")
        .containsSubsequence("POD_IP", "WEFT_KUBERNETES_REPLICAS_PEER_ADDRESS");
    assertThat(at(chart.settings(), "weft.kubernetes.replicas.lease-prefix")).contains("weft");
    // Unset unless asked for: it would override the image's JVM flags.
    assertThat(container.getEnv()).extracting(EnvVar::getName).doesNotContain("JAVA_TOOL_OPTIONS");
  }

  @Test
  void aConfigChangeRollsThePods() {
    String checksum = checksum(defaults());

    assertThat(checksum).matches("[0-9a-f]{64}");
    assertThat(checksum(RenderedChart.template().set("mesh.mtls", "strict").render()))
        .isNotEqualTo(checksum);
    // Values that are no settings of the application leave the pods alone.
    assertThat(checksum(RenderedChart.template().set("replicaCount", "4").render()))
        .isEqualTo(checksum);
  }

  private static String checksum(RenderedChart chart) {
    return chart
        .deployment()
        .getSpec()
        .getTemplate()
        .getMetadata()
        .getAnnotations()
        .get("checksum/config");
  }

  @Test
  void probesUseHealthGroupsTheApplicationHas() {
    // Probes at /actuator/health/<group> on the monitoring port need the default actuator base
    // path, the health endpoint exposed and the probe groups on.
    assertThat(at(APPLICATION, "management.endpoints.web.base-path")).isEmpty();
    assertThat(at(APPLICATION, "management.endpoints.web.exposure.include"))
        .hasValueSatisfying(v -> assertThat(v.toString().split(",", -1)).contains("health"));
    assertThat(at(APPLICATION, "management.endpoint.health.probes.enabled")).contains(true);
    assertThat(at(APPLICATION, "management.endpoint.health.group.readiness")).isPresent();
    Container container = defaults().container();
    for (Probe probe :
        List.of(
            container.getStartupProbe(),
            container.getLivenessProbe(),
            container.getReadinessProbe())) {
      String group = probe.getHttpGet().getPath().substring("/actuator/health/".length());
      // liveness and readiness exist whenever probes are enabled.
      assertThat(group).isIn("liveness", "readiness");
    }
  }

  @Test
  void bindingsPointAtTheServiceAccountThePodsUse() {
    RenderedChart chart = defaults();
    String account = chart.deployment().getSpec().getTemplate().getSpec().getServiceAccountName();

    assertThat(chart.find(ServiceAccount.class, account)).isPresent();
    assertThat(at(chart.settings(), "weft.kubernetes.service-account")).contains(account);
    Subject subject = new Subject(null, "ServiceAccount", account, NAMESPACE);
    assertThat(chart.all(ClusterRoleBinding.class))
        .isNotEmpty()
        .allSatisfy(
            b -> {
              assertThat(b.getSubjects()).containsExactly(subject);
              assertRoleExists(chart, b.getRoleRef());
            });
    assertThat(chart.all(RoleBinding.class))
        .isNotEmpty()
        .allSatisfy(
            b -> {
              assertThat(b.getSubjects()).containsExactly(subject);
              assertThat(b.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
              assertRoleExists(chart, b.getRoleRef());
            });
  }

  private static void assertRoleExists(RenderedChart chart, RoleRef ref) {
    boolean found =
        switch (ref.getKind()) {
          case "ClusterRole" -> chart.find(ClusterRole.class, ref.getName()).isPresent();
          case "Role" -> chart.find(Role.class, ref.getName()).isPresent();
          default -> false;
        };
    assertThat(found).as("%s %s is in the chart", ref.getKind(), ref.getName()).isTrue();
  }

  /** The requests Weft makes, in a mesh namespace (shop) and in its own. */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    // The registry's informers: list and watch, across namespaces or in one.
    "GET, /api/v1/services",
    "GET, /api/v1/services?watch=true",
    "GET, /api/v1/namespaces/shop/services?watch=1",
    "GET, /api/v1/pods",
    "GET, /api/v1/pods?watch=true",
    "GET, /apis/discovery.k8s.io/v1/endpointslices",
    "GET, /apis/discovery.k8s.io/v1/endpointslices?watch=true",
    "GET, /apis/gateway.networking.k8s.io/v1/httproutes",
    "GET, /apis/gateway.networking.k8s.io/v1/httproutes?watch=true",
    "GET, /apis/gateway.networking.k8s.io/v1/grpcroutes",
    "GET, /apis/gateway.networking.k8s.io/v1/grpcroutes?watch=true",
    "GET, /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/canary",
    "GET, /apis/mesh.weft.dev/v1alpha1/trafficpolicies",
    "GET, /apis/mesh.weft.dev/v1alpha1/trafficpolicies?watch=true",
    "GET, /apis/mesh.weft.dev/v1alpha1/faultpolicies",
    "GET, /apis/mesh.weft.dev/v1alpha1/faultpolicies?watch=true",
    "GET, /api/v1/namespaces",
    "GET, /api/v1/namespaces?watch=true",
    // Statuses of routes and policies (the leader).
    "PUT, /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/canary/status",
    "PUT, /apis/gateway.networking.k8s.io/v1/namespaces/shop/grpcroutes/greeter/status",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/trafficpolicies/slow/status",
    "GET, /apis/mesh.weft.dev/v1alpha1/authorizationpolicies?watch=true",
    "GET, /apis/mesh.weft.dev/v1alpha1/meshtlspolicies?watch=true",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/meshtlspolicies/default/status",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/authorizationpolicies/only-checkout/status",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/faultpolicies/chaos/status",
    "GET, /apis/mesh.weft.dev/v1alpha1/ratelimitpolicies",
    "GET, /apis/mesh.weft.dev/v1alpha1/ratelimitpolicies?watch=true",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/ratelimitpolicies/ratings-limit/status",
    "GET, /apis/mesh.weft.dev/v1alpha1/telemetries",
    "GET, /apis/mesh.weft.dev/v1alpha1/telemetries?watch=true",
    "PUT, /apis/mesh.weft.dev/v1alpha1/namespaces/weft-system/telemetries/mesh-default/status",
    // Leader election in its own namespace.
    "GET, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-leader",
    "PUT, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-leader",
    // Fabric8's LeaseLock renews with a JSON merge patch.
    "PATCH, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-leader",
    "POST, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases",
    // Each replica's own Lease (named after its Pod), and the list of the others'.
    "GET, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-replica-weft-7d9c-x2k4",
    "PUT, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-replica-weft-7d9c-x2k4",
    "DELETE, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-replica-weft-7d9c-x2k4",
    "GET, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases?labelSelector=app.kubernetes.io%2Fcomponent%3Dweft-replica",
    // The CA's key material, and workloads' tokens.
    "GET, /api/v1/namespaces/weft-system/secrets/weft-ca",
    "PUT, /api/v1/namespaces/weft-system/secrets/weft-ca",
    "POST, /api/v1/namespaces/weft-system/secrets",
    "POST, /apis/authentication.k8s.io/v1/tokenreviews",
    // The trust bundle, in every namespace, followed by an informer on its name alone.
    "GET, /api/v1/configmaps?fieldSelector=metadata.name%3Dweft-ca-root-cert",
    "GET, /api/v1/configmaps?fieldSelector=metadata.name%3Dweft-ca-root-cert&watch=true",
    "GET, /api/v1/namespaces/shop/configmaps?fieldSelector=metadata.name%3Dweft-ca-root-cert",
    "GET, /api/v1/namespaces/shop/configmaps/weft-ca-root-cert",
    "PUT, /api/v1/namespaces/shop/configmaps/weft-ca-root-cert",
    "POST, /api/v1/namespaces/shop/configmaps",
    "GET, /api/v1/namespaces/weft-system/configmaps/weft-ca-root-cert",
  })
  void allowsWhatTheApplicationDoes(String method, String path) {
    ApiRequest request = ApiRequest.of(method, path);

    assertThat(RbacRules.of(defaults()).allows(request, NAMESPACE)).as("%s", request).isTrue();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "GET, /api/v1/namespaces/weft-system/secrets/other",
    "GET, /api/v1/namespaces/shop/secrets/weft-ca",
    "POST, /api/v1/namespaces/shop/secrets",
    "GET, /api/v1/namespaces/weft-system/secrets",
    "GET, /api/v1/secrets",
    "GET, /api/v1/secrets?watch=true",
    "DELETE, /api/v1/namespaces/weft-system/secrets/weft-ca",
    "DELETE, /api/v1/namespaces/shop/pods/web-0",
    "POST, /api/v1/namespaces/shop/pods",
    "PUT, /api/v1/namespaces/shop/services/web",
    "GET, /api/v1/namespaces/shop/configmaps/app-config",
    "PUT, /api/v1/namespaces/shop/configmaps/app-config",
    "GET, /api/v1/namespaces/shop/configmaps",
    "GET, /api/v1/configmaps?watch=true",
    "GET, /api/v1/configmaps?fieldSelector=metadata.name%3Dapp-config",
    // Leases only in Weft's own namespace (its replicas' are named after Pods, so there any).
    "GET, /apis/coordination.k8s.io/v1/namespaces/shop/leases/weft-leader",
    "DELETE, /apis/coordination.k8s.io/v1/namespaces/shop/leases/weft-replica-x",
    "POST, /apis/coordination.k8s.io/v1/namespaces/shop/leases",
    "GET, /apis/coordination.k8s.io/v1/leases",
    "PATCH, /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/other",
    "PUT, /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/canary",
    "PATCH, /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/canary/status",
    "DELETE, /apis/mesh.weft.dev/v1alpha1/namespaces/shop/trafficpolicies/slow",
    "PUT, /api/v1/namespaces/shop",
    "POST, /apis/rbac.authorization.k8s.io/v1/clusterroles",
    // The chart grants no non-resource URLs (Kubernetes' own roles grant discovery to all).
    "GET, /metrics",
  })
  void deniesWhatItMustNotDo(String method, String path) {
    ApiRequest request = ApiRequest.of(method, path);

    assertThat(RbacRules.of(defaults()).allows(request, NAMESPACE)).as("%s", request).isFalse();
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({
    "replicaCount, three, /replicaCount",
    "replicaCount, 0, /replicaCount",
    "mesh.mtls, sometimes, /mesh/mtls",
    "unknownKey, 1, 'unknownKey'",
    "image.misspelt, x, 'misspelt'",
    "podAntiAffinity, always, /podAntiAffinity",
    "xds.drainPeriod, 10 seconds, /xds/drainPeriod",
    "ca.maxLifetime, 1w, /ca/maxLifetime",
    "logging.format, json, /logging/format",
    // Both budgets at once (maxUnavailable has a default): the one to drop is named.
    "podDisruptionBudget.minAvailable, 2, /podDisruptionBudget/maxUnavailable",
    // Killed before its proxies are handed over: a check of the chart's own, not the schema.
    "terminationGracePeriodSeconds, 12, terminationGracePeriodSeconds (12)",
    // xDS over mutual TLS is served beside the CA: without either, proxies have no way in.
    "ca.enabled, false, set xds.plaintext=true",
    "injection.failurePolicy, Retry, /injection/failurePolicy",
    "injection.timeoutSeconds, 31, /injection/timeoutSeconds",
    // Weft ships no iptables image: turning injection on without one is refused by name.
    "injection.enabled, true, injection.init.image",
  })
  void aWrongValueFailsWithItsName(String key, String value, String message) {
    assertThatThrownBy(() -> RenderedChart.template().set(key, value).yaml())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(message);
  }

  @Test
  void releaseNameAndNamespaceFlowThrough() {
    RenderedChart chart =
        RenderedChart.template()
            .release("mesh")
            .namespace("mesh-control")
            .set("fullnameOverride", "weft-cp")
            .set("xds.plaintext", "true")
            .render();
    Map<String, Object> settings = chart.settings();
    RbacRules rbac = RbacRules.of(chart);

    assertThat(chart.service().getMetadata().getName()).isEqualTo("weft-cp");
    assertThat(at(settings, "weft.xds.advertised-address"))
        .contains("weft-cp.mesh-control.svc:15010");
    assertThat(at(settings, "weft.ca.dns-names"))
        .contains(List.of("weft-cp.mesh-control.svc", "weft-cp.mesh-control.svc.cluster.local"));
    assertThat(chart.one(RoleBinding.class).getMetadata().getNamespace()).isEqualTo("mesh-control");
    assertThat(chart.one(RoleBinding.class).getSubjects())
        .containsExactly(new Subject(null, "ServiceAccount", "weft-cp", "mesh-control"));
    assertThat(chart.one(ClusterRoleBinding.class).getSubjects())
        .containsExactly(new Subject(null, "ServiceAccount", "weft-cp", "mesh-control"));
    String lease = "/apis/coordination.k8s.io/v1/namespaces/%s/leases/weft-leader";
    assertThat(rbac.allows(ApiRequest.of("PUT", lease.formatted("mesh-control")), "mesh-control"))
        .isTrue();
    assertThat(rbac.allows(ApiRequest.of("PUT", lease.formatted(NAMESPACE)), "mesh-control"))
        .isFalse();
    assertThat(at(settings, "weft.kubernetes.replicas.lease-prefix")).contains("weft-cp");
  }

  @Test
  void withoutTheCaNoCaPortAndNoAccessToSecretsOrConfigMaps() {
    // The validating webhook's certificate comes from the CA: without it, it must be turned off
    // by name.
    assertThatThrownBy(
            () ->
                RenderedChart.template()
                    .set("ca.enabled", "false")
                    .set("xds.plaintext", "true")
                    .yaml())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("validation.enabled needs ca.enabled");
    RenderedChart chart =
        RenderedChart.template()
            .set("ca.enabled", "false")
            .set("xds.plaintext", "true")
            .set("validation.enabled", "false")
            .render();
    RbacRules rbac = RbacRules.of(chart);

    assertThat(at(chart.settings(), "weft.ca.enabled")).contains(false);
    assertThat(chart.containerPort("grpc-ca")).isEmpty();
    assertThat(chart.service().getSpec().getPorts())
        .extracting(ServicePort::getName)
        .doesNotContain("grpc-ca");
    for (String[] request :
        List.of(
            new String[] {"GET", "/api/v1/namespaces/weft-system/secrets/weft-ca"},
            new String[] {"POST", "/api/v1/namespaces/weft-system/secrets"},
            new String[] {"POST", "/api/v1/namespaces/shop/configmaps"})) {
      assertThat(rbac.allows(ApiRequest.of(request[0], request[1]), NAMESPACE))
          .as("%s %s", request[0], request[1])
          .isFalse();
    }
    // The debug API still authenticates its readers.
    assertThat(
            rbac.allows(
                ApiRequest.of("POST", "/apis/authentication.k8s.io/v1/tokenreviews"), NAMESPACE))
        .isTrue();
  }

  @Test
  void gatewaysAreOffByDefaultAndOnReadOnlyTlsSecretsAndGateways() {
    assertThat(at(defaults().settings(), "weft.kubernetes.gateways")).contains(false);

    RenderedChart chart = RenderedChart.template().set("gateways.enabled", "true").render();

    assertThat(at(chart.settings(), "weft.kubernetes.gateways")).contains(true);
    RbacRules rbac = RbacRules.of(chart);
    // What KubernetesSource asks for with gateways on.
    for (String path :
        List.of(
            "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls",
            "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&watch=true",
            "/apis/gateway.networking.k8s.io/v1/gateways",
            "/apis/gateway.networking.k8s.io/v1/gateways?watch=true",
            "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
            "/apis/gateway.networking.k8s.io/v1/gatewayclasses?watch=true")) {
      assertThat(rbac.allows(ApiRequest.of("GET", path), NAMESPACE)).as(path).isTrue();
    }
    // Still no Secret by name, and no write.
    for (ApiRequest denied :
        List.of(
            ApiRequest.of("GET", "/api/v1/namespaces/shop/secrets/shop-cert"),
            ApiRequest.of("PUT", "/api/v1/namespaces/shop/secrets/shop-cert"),
            ApiRequest.of(
                "PUT", "/apis/gateway.networking.k8s.io/v1/namespaces/shop/gateways/edge"))) {
      assertThat(rbac.allows(denied, NAMESPACE)).as("%s", denied).isFalse();
    }
  }

  /** The chart with sidecar injection on, as docs/envoy.md#injection installs it. */
  static RenderedChart withInjection() {
    return RenderedChart.template()
        .set("injection.enabled", "true")
        .set("injection.init.image", "registry.example.com/weft-init:1.0")
        .render();
  }

  @Test
  void injectionIsOffByDefaultWithNoMutatingWebhookOrAccess() {
    RenderedChart chart = defaults();

    assertThat(chart.all(MutatingWebhookConfiguration.class)).isEmpty();
    assertThat(at(chart.settings(), "weft.injection.enabled")).contains(false);
    assertThat(
            RbacRules.of(chart)
                .allows(
                    ApiRequest.of(
                        "PATCH",
                        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                            + "weft-sidecar-injector"),
                    NAMESPACE))
        .isFalse();
  }

  @Test
  void theValidatingWebhookIsOnByDefaultSendsRoutesAndPoliciesToValidateAndNeverBlocksAnApply() {
    RenderedChart chart = defaults();
    ValidatingWebhookConfiguration configuration = chart.one(ValidatingWebhookConfiguration.class);
    ValidatingWebhook webhook = configuration.getWebhooks().get(0);

    assertThat(configuration.getMetadata().getName()).isEqualTo("weft-validator");
    assertThat(webhook.getName()).endsWith(".weft.dev");
    assertThat(webhook.getFailurePolicy()).isEqualTo("Ignore");
    assertThat(webhook.getClientConfig().getCaBundle()).isNull();
    assertThat(webhook.getClientConfig().getService().getPath()).isEqualTo("/validate");
    assertThat(webhook.getRules())
        .flatExtracting(rule -> rule.getResources())
        .contains("httproutes", "grpcroutes", "trafficpolicies", "ratelimitpolicies");
    assertThat(at(chart.settings(), "weft.validation.enabled")).contains(true);
    assertThat(at(chart.settings(), "weft.validation.webhook-configuration"))
        .contains("weft-validator");
    assertThat(chart.containerPort("https-webhook"))
        .contains(setting(chart.settings(), "weft.webhooks.port"));
    assertThat(
            RbacRules.of(chart)
                .allows(
                    ApiRequest.of(
                        "PATCH",
                        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
                            + "weft-validator"),
                    NAMESPACE))
        .isTrue();

    RenderedChart off = RenderedChart.template().set("validation.enabled", "false").render();
    assertThat(off.all(ValidatingWebhookConfiguration.class)).isEmpty();
    assertThat(off.containerPort("https-webhook")).isEmpty();
    assertThat(at(off.settings(), "weft.validation.enabled")).contains(false);
  }

  @Test
  void theInjectionWebhookCallsTheServiceOn443WhichReachesTheApplicationsPort() {
    RenderedChart chart = withInjection();
    Map<String, Object> settings = chart.settings();
    MutatingWebhookConfiguration configuration = chart.one(MutatingWebhookConfiguration.class);
    MutatingWebhook webhook = configuration.getWebhooks().get(0);

    assertThat(configuration.getMetadata().getName()).isEqualTo("weft-sidecar-injector");
    assertThat(configuration.getWebhooks()).hasSize(1);
    // The leader writes the bundle of the webhooks named so, and the caBundle Helm leaves out.
    assertThat(webhook.getName()).endsWith(".weft.dev");
    assertThat(webhook.getClientConfig().getCaBundle()).isNull();
    assertThat(at(settings, "weft.injection.webhook-configuration"))
        .contains(configuration.getMetadata().getName());
    var service = webhook.getClientConfig().getService();
    assertThat(service.getName()).isEqualTo(chart.service().getMetadata().getName());
    assertThat(service.getNamespace()).isEqualTo(NAMESPACE);
    assertThat(service.getPath()).isEqualTo("/inject");
    assertThat(service.getPort()).isEqualTo(443);
    ServicePort port =
        chart.service().getSpec().getPorts().stream()
            .filter(p -> p.getPort() == 443)
            .findFirst()
            .orElseThrow();
    assertThat(port.getTargetPort().getStrVal()).isEqualTo("https-webhook");
    assertThat(chart.containerPort("https-webhook"))
        .contains(setting(APPLICATION, "weft.webhooks.port"))
        .contains(setting(settings, "weft.webhooks.port"))
        .contains(15017);
    assertThat(webhook.getAdmissionReviewVersions()).containsExactly("v1");
    assertThat(webhook.getSideEffects()).isEqualTo("None");
    assertThat(webhook.getFailurePolicy()).isEqualTo("Fail");
    assertThat(webhook.getTimeoutSeconds()).isEqualTo(10);
    assertThat(webhook.getReinvocationPolicy()).isEqualTo("Never");
    assertThat(webhook.getRules())
        .singleElement()
        .satisfies(
            rule -> {
              assertThat(rule.getOperations()).containsExactly("CREATE");
              assertThat(rule.getApiGroups()).containsExactly("");
              assertThat(rule.getResources()).containsExactly("pods");
            });
    assertThat(webhook.getNamespaceSelector().getMatchLabels())
        .containsExactly(Map.entry("weft.dev/inject", "enabled"));
    assertThat(webhook.getNamespaceSelector().getMatchExpressions())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getKey()).isEqualTo("kubernetes.io/metadata.name");
              assertThat(e.getOperator()).isEqualTo("NotIn");
              assertThat(e.getValues()).contains(NAMESPACE);
            });
    assertThat(webhook.getObjectSelector().getMatchExpressions())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getKey()).isEqualTo("weft.dev/inject");
              assertThat(e.getOperator()).isEqualTo("NotIn");
              assertThat(e.getValues()).containsExactly("false");
            });
    // What is injected: the chart's own image runs the agent; the init image is the user's.
    assertThat(at(settings, "weft.injection.enabled")).contains(true);
    assertThat(at(settings, "weft.injection.agent.image")).contains(chart.container().getImage());
    assertThat(at(settings, "weft.injection.init.image"))
        .contains("registry.example.com/weft-init:1.0");
    assertThat(at(settings, "weft.injection.proxy.image")).contains("envoyproxy/envoy:v1.34.1");
    assertThat(at(settings, "weft.injection.proxy.limits.memory")).contains("256Mi");
  }

  @Test
  void theFailurePolicyIsAValue() {
    RenderedChart chart =
        RenderedChart.template()
            .set("injection.enabled", "true")
            .set("injection.init.image", "registry.example.com/weft-init:1.0")
            .set("injection.failurePolicy", "Ignore")
            .set("injection.timeoutSeconds", "5")
            .render();

    MutatingWebhook webhook = chart.one(MutatingWebhookConfiguration.class).getWebhooks().get(0);
    assertThat(webhook.getFailurePolicy()).isEqualTo("Ignore");
    assertThat(webhook.getTimeoutSeconds()).isEqualTo(5);
  }

  @Test
  void injectionNeedsNativeSidecars() {
    assertThatThrownBy(
            () ->
                new Helm(RenderedChart.CHART)
                    .template()
                    .withName(RenderedChart.RELEASE)
                    .withNamespace(NAMESPACE)
                    .withKubeVersion("v1.28.9")
                    .set("injection.enabled", "true")
                    .set("injection.init.image", "registry.example.com/weft-init:1.0")
                    .call())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("injection.enabled needs Kubernetes 1.29 or newer");
  }

  /** What the leader does to keep the webhook's caBundle (WebhookCaBundleTest records it). */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "GET, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?fieldSelector=metadata.name%3Dweft-sidecar-injector&resourceVersion=0",
    "GET, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweft-sidecar-injector&resourceVersion=1&timeoutSeconds=600&watch=true",
    "PATCH, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/weft-sidecar-injector",
    "GET, /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?fieldSelector=metadata.name%3Dweft-validator&resourceVersion=0",
    "GET, /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweft-validator&resourceVersion=1&timeoutSeconds=600&watch=true",
    "PATCH, /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/weft-validator",
  })
  void withInjectionAllowsWhatTheLeaderDoesToItsWebhook(String method, String path) {
    ApiRequest request = ApiRequest.of(method, path);

    assertThat(RbacRules.of(withInjection()).allows(request, NAMESPACE)).as("%s", request).isTrue();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "GET, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "GET, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?watch=true",
    "PATCH, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/other",
    "PUT, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/weft-sidecar-injector",
    "DELETE, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/weft-sidecar-injector",
    "POST, /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "PATCH, /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/weft-sidecar-injector",
  })
  void withInjectionDeniesAnyOtherWebhookAccess(String method, String path) {
    ApiRequest request = ApiRequest.of(method, path);

    assertThat(RbacRules.of(withInjection()).allows(request, NAMESPACE))
        .as("%s", request)
        .isFalse();
  }

  private static int servicePort(RenderedChart chart, String name) {
    return chart.service().getSpec().getPorts().stream()
        .filter(p -> name.equals(p.getName()))
        .findFirst()
        .orElseThrow()
        .getPort();
  }

  private static Volume volumeAt(RenderedChart chart, String mountPath) {
    String name =
        chart.container().getVolumeMounts().stream()
            .filter(m -> mountPath.equals(m.getMountPath()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("nothing mounted at " + mountPath))
            .getName();
    return chart.deployment().getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> name.equals(v.getName()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  private static EnvVar env(Container container, String name) {
    return container.getEnv().stream()
        .filter(e -> name.equals(e.getName()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no environment variable " + name));
  }

  private static int setting(Map<String, Object> yaml, String path) {
    return (Integer)
        at(yaml, path).orElseThrow(() -> new AssertionError("no setting " + path + ": " + yaml));
  }
}
