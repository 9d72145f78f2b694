package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** What the injector adds to a Pod, and when it adds nothing. */
class SidecarInjectorTest {

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final SidecarInjector injector = InjectionFixtures.injector();

  private static Pod pod() {
    return new PodBuilder()
        .withNewMetadata()
        .withGenerateName("web-5f7c9-")
        .addToLabels("app", "web")
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName("web")
        .addNewContainer()
        .withName("web")
        .withImage("registry.example.com/web:2.0")
        .addNewPort()
        .withContainerPort(8080)
        .endPort()
        .endContainer()
        .endSpec()
        .build();
  }

  private Pod injected(Pod pod, String namespace) {
    Validated<SidecarInjector.Injection> result = injector.inject(pod, namespace);
    assertThat(result.errors()).isEmpty();
    SidecarInjector.Injection injection =
        ((Validated.Valid<SidecarInjector.Injection>) result).value();
    assertThat(injection).isInstanceOf(SidecarInjector.Injected.class);
    return ((SidecarInjector.Injected) injection).pod();
  }

  @Test
  void addsTheRedirectTheAgentAndEnvoyAndLeavesTheInputAlone() {
    Pod original = pod();
    String before = SERIALIZATION.asJson(original);

    Pod pod = injected(original, "web");

    assertThat(SERIALIZATION.asJson(original)).isEqualTo(before);
    assertThat(pod.getSpec().getInitContainers())
        .extracting(Container::getName)
        .containsExactly("weft-init", "weft-agent");
    assertThat(pod.getSpec().getContainers())
        .extracting(Container::getName)
        .containsExactly("web", "weft-proxy");
    Map<String, Volume> volumes =
        pod.getSpec().getVolumes().stream()
            .collect(Collectors.toMap(Volume::getName, volume -> volume));
    var token =
        volumes.get("weft-token").getProjected().getSources().get(0).getServiceAccountToken();
    assertThat(token.getAudience()).isEqualTo("weft");
    assertThat(token.getExpirationSeconds()).isEqualTo(3600L);
    assertThat(volumes.get("weft-ca").getConfigMap().getName()).isEqualTo("weft-ca-root-cert");
    assertThat(volumes.get("weft-sds").getEmptyDir().getMedium()).isEqualTo("Memory");
    assertThat(volumes.get("weft-certs").getEmptyDir().getMedium()).isEqualTo("Memory");
  }

  @Test
  void theInitContainerRedirectsWithNetAdminAndNetRawOnly() {
    Container init = injected(pod(), "web").getSpec().getInitContainers().get(0);

    assertThat(init.getImage()).isEqualTo(InjectionFixtures.INIT_IMAGE);
    assertThat(init.getCommand()).containsExactly("/bin/sh", "-c");
    assertThat(init.getArgs()).containsExactly(TrafficRedirect.script());
    assertThat(init.getRestartPolicy()).isNull();
    var security = init.getSecurityContext();
    assertThat(security.getRunAsUser()).isZero();
    assertThat(security.getRunAsNonRoot()).isFalse();
    assertThat(security.getPrivileged()).isFalse();
    assertThat(security.getAllowPrivilegeEscalation()).isFalse();
    assertThat(security.getCapabilities().getAdd()).containsExactly("NET_ADMIN", "NET_RAW");
    assertThat(security.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(init.getResources().getLimits()).containsEntry("memory", new Quantity("64Mi"));
  }

  @Test
  void theRulesRedirectTcpAndSpareTheProxyLoopbackAndWeftsPorts() {
    String script = TrafficRedirect.script();

    assertThat(script)
        .startsWith("set -eu\niptables-restore --noflush <<'WEFT_RULES'\n*nat\n")
        .endsWith("COMMIT\nWEFT_RULES\n")
        // Nothing the kubelet would expand in a container's arguments.
        .doesNotContain("$(");
    assertThat(TrafficRedirect.rules().lines())
        .containsSubsequence(
            "-A PREROUTING -p tcp -j WEFT_INBOUND",
            "-A WEFT_INBOUND -p tcp --dport 15000:15099 -j RETURN",
            "-A WEFT_INBOUND -p tcp -j REDIRECT --to-ports 15006")
        .containsSubsequence(
            "-A OUTPUT -p tcp -j WEFT_OUTPUT",
            "-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN",
            "-A WEFT_OUTPUT -o lo -j RETURN",
            "-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports 15001");
  }

  @Test
  void theAgentIsANativeSidecarOfTheProxysUser() {
    Container agent = injected(pod(), "web").getSpec().getInitContainers().get(1);

    assertThat(agent.getImage()).isEqualTo(InjectionFixtures.AGENT_IMAGE);
    assertThat(agent.getRestartPolicy()).isEqualTo("Always");
    assertThat(agent.getArgs())
        .containsExactly(
            "agent",
            "--ca=weft.weft-system.svc:15012",
            "--ca-bundle=/var/run/weft/ca/ca.crt",
            "--ca-spiffe-id=spiffe://cluster.local/ns/weft-system/sa/weft",
            "--token-file=/var/run/weft/token/token",
            "--out=/var/run/weft/certs",
            "--sds-socket=/var/run/weft/sds/socket");
    assertThat(agent.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
    assertThat(agent.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(agent.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(agent.getVolumeMounts())
        .extracting(VolumeMount::getName, VolumeMount::getMountPath, VolumeMount::getReadOnly)
        .contains(
            org.assertj.core.groups.Tuple.tuple("weft-token", "/var/run/weft/token", true),
            org.assertj.core.groups.Tuple.tuple("weft-ca", "/var/run/weft/ca", true),
            org.assertj.core.groups.Tuple.tuple("weft-sds", "/var/run/weft/sds", null));
  }

  @Test
  void envoyIsBootstrappedToWeftWithThePodsIdentity() {
    Container proxy = injected(pod(), "web").getSpec().getContainers().get(1);

    assertThat(proxy.getImage()).isEqualTo(InjectionFixtures.PROXY_IMAGE);
    assertThat(proxy.getCommand()).containsExactly("envoy");
    assertThat(proxy.getArgs()).hasSize(4);
    assertThat(proxy.getArgs().get(0)).isEqualTo("--config-yaml");
    assertThat(proxy.getArgs().subList(2, 4)).containsExactly("--log-level", "warning");
    assertThat(proxy.getEnv().subList(0, 3))
        .extracting(EnvVar::getName, e -> e.getValueFrom().getFieldRef().getFieldPath())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("POD_NAME", "metadata.name"),
            org.assertj.core.groups.Tuple.tuple("POD_NAMESPACE", "metadata.namespace"),
            org.assertj.core.groups.Tuple.tuple("POD_IP", "status.podIP"));
    // After POD_NAME, which the kubelet expands in it; the workload is the Pod's ServiceAccount.
    assertThat(proxy.getEnv().subList(3, proxy.getEnv().size()))
        .extracting(EnvVar::getName, EnvVar::getValue)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=web.web,k8s.namespace.name=web,k8s.pod.name=$(POD_NAME)"));
    var security = proxy.getSecurityContext();
    assertThat(security.getRunAsUser()).isEqualTo(1337L);
    assertThat(security.getRunAsNonRoot()).isTrue();
    assertThat(security.getReadOnlyRootFilesystem()).isTrue();
    assertThat(security.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(proxy.getResources().getRequests()).containsEntry("cpu", new Quantity("100m"));

    JsonNode bootstrap = JSON.readTree(proxy.getArgs().get(1));
    assertThat(proxy.getArgs().get(1)).doesNotContain("\n");
    assertThat(bootstrap.at("/node/id").asString()).isEqualTo("$(POD_NAME).web");
    assertThat(bootstrap.at("/node/metadata/NAMESPACE").asString()).isEqualTo("web");
    assertThat(bootstrap.at("/node/metadata/SERVICE_ACCOUNT").asString()).isEqualTo("web");
    assertThat(bootstrap.at("/node/metadata/PROXY_TYPE").asString()).isEqualTo("sidecar");
    assertThat(bootstrap.at("/node/metadata/INSTANCE_IPS").asString()).isEqualTo("$(POD_IP)");
    assertThat(bootstrap.at("/node/metadata/LABELS/app").asString()).isEqualTo("web");
    assertThat(proxy.getArgs().get(1)).contains("weft.weft-system.svc", "/var/run/weft/sds/socket");
  }

  @Test
  void theEgressAnnotationBecomesTheSidecarsEgressHosts() {
    Pod pod =
        new PodBuilder(pod())
            .editMetadata()
            .addToAnnotations("weft.dev/egress", "./*, bank/ledger\n*/audit")
            .endMetadata()
            .build();

    SidecarInjector.Injected injected = injection(pod);

    JsonNode bootstrap =
        JSON.readTree(injected.pod().getSpec().getContainers().get(1).getArgs().get(1));
    assertThat(bootstrap.at("/node/metadata/EGRESS").valueStream().map(JsonNode::asString))
        .containsExactly("./*", "bank/ledger", "*/audit");
    assertThat(injected.warnings()).isEmpty();
    assertThat(
            JSON.readTree(injection(pod()).pod().getSpec().getContainers().get(1).getArgs().get(1))
                .at("/node/metadata")
                .has("EGRESS"))
        .isFalse();
  }

  @Test
  void anInvalidEgressAnnotationIsIgnoredWithAWarningAndThePodStillInjected() {
    Pod pod =
        new PodBuilder(pod())
            .editMetadata()
            .addToAnnotations("weft.dev/egress", "bank/ledger, ledger.bank")
            .endMetadata()
            .build();

    SidecarInjector.Injected injected = injection(pod);

    JsonNode bootstrap =
        JSON.readTree(injected.pod().getSpec().getContainers().get(1).getArgs().get(1));
    assertThat(bootstrap.at("/node/metadata").has("EGRESS")).isFalse();
    assertThat(injected.warnings())
        .containsExactly(
            "weft: weft.dev/egress ignored, the sidecar sees the whole mesh: \"ledger.bank\" is"
                + " not <namespace>/<service> (such as shop/checkout, shop/*, */checkout or ./*)");
  }

  private SidecarInjector.Injected injection(Pod pod) {
    Validated<SidecarInjector.Injection> result = injector.inject(pod, "web");
    assertThat(result.errors()).isEmpty();
    return (SidecarInjector.Injected) ((Validated.Valid<SidecarInjector.Injection>) result).value();
  }

  @Test
  void aPodWithoutAServiceAccountIsTheDefaultOne() {
    Pod pod = new PodBuilder(pod()).editSpec().withServiceAccountName(null).endSpec().build();

    String bootstrap = injected(pod, "web").getSpec().getContainers().get(1).getArgs().get(1);

    assertThat(JSON.readTree(bootstrap).at("/node/metadata/SERVICE_ACCOUNT").asString())
        .isEqualTo("default");
  }

  @Test
  void aSecondPassChangesNothing() {
    Pod once = injected(pod(), "web");

    assertThat(injector.inject(once, "web"))
        .isEqualTo(Validated.valid(new SidecarInjector.Skipped("already injected")));
    // Without the annotation, the containers alone say so.
    Pod withoutAnnotation =
        new PodBuilder(once).editMetadata().withAnnotations(Map.of()).endMetadata().build();
    assertThat(injector.inject(withoutAnnotation, "web"))
        .isEqualTo(Validated.valid(new SidecarInjector.Skipped("already injected")));
  }

  @Test
  void skipsOptedOutHostNetworkAndControlPlanePods() {
    Pod annotated =
        new PodBuilder(pod())
            .editMetadata()
            .addToAnnotations("weft.dev/inject", "false")
            .endMetadata()
            .build();
    Pod labelled =
        new PodBuilder(pod())
            .editMetadata()
            .addToLabels("weft.dev/inject", "false")
            .endMetadata()
            .build();
    Pod hostNetwork = new PodBuilder(pod()).editSpec().withHostNetwork(true).endSpec().build();

    assertThat(skipReason(annotated, "web")).isEqualTo("opted out with weft.dev/inject=false");
    assertThat(skipReason(labelled, "web")).isEqualTo("opted out with weft.dev/inject=false");
    assertThat(skipReason(hostNetwork, "web")).startsWith("hostNetwork");
    assertThat(skipReason(pod(), "weft-system"))
        .isEqualTo("the control plane's namespace weft-system is never injected");
  }

  private String skipReason(Pod pod, String namespace) {
    Validated<SidecarInjector.Injection> result = injector.inject(pod, namespace);
    return ((SidecarInjector.Skipped) ((Validated.Valid<SidecarInjector.Injection>) result).value())
        .reason();
  }

  @Test
  void clashingPortsAndVolumesAndMissingSettingsAreFieldErrors() {
    Pod clashing =
        new PodBuilder(pod())
            .editSpec()
            .editFirstContainer()
            .addNewPort()
            .withContainerPort(15000)
            .endPort()
            .endContainer()
            .addNewVolume()
            .withName("weft-sds")
            .withNewEmptyDir()
            .endEmptyDir()
            .endVolume()
            .endSpec()
            .build();
    SidecarInjector.Settings fixture = InjectionFixtures.settings();
    SidecarInjector withoutInitImage =
        new SidecarInjector(
            new SidecarInjector.Settings(
                new SidecarInjector.ContainerTemplate(
                    "weft.injection.init.image", "", fixture.init().resources()),
                fixture.agent(),
                fixture.proxy(),
                fixture.controlPlaneNamespace(),
                fixture.controlPlaneSpiffeId(),
                fixture.trustBundleConfigMap(),
                fixture.tokenAudience()),
            () -> InjectionFixtures.UPSTREAM);

    assertThat(injector.inject(clashing, "web").errors())
        .containsExactly(
            new FieldError(
                "spec.containers[0].ports[1].containerPort",
                "15000 is in 15000-15099, the ports of Weft's sidecar"),
            new FieldError(
                "spec.volumes[0].name", "\"weft-sds\" is the name of a volume of Weft's sidecar"));
    assertThat(withoutInitImage.inject(pod(), "web").errors())
        .containsExactly(new FieldError("weft.injection.init.image", "no image is set"));
  }

  @Test
  void aControlPlaneItCannotNameIsAFieldErrorNotAnException() {
    SidecarInjector unreachable =
        new SidecarInjector(
            InjectionFixtures.settings(),
            () -> {
              throw new IllegalStateException("no CA port with a DNS name");
            });

    assertThat(unreachable.inject(pod(), "web").errors())
        .containsExactly(new FieldError("weft", "no CA port with a DNS name"));
  }
}
