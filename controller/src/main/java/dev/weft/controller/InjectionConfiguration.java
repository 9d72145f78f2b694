package dev.weft.controller;

import dev.weft.api.validation.FieldErrors;
import dev.weft.ca.CaServer;
import dev.weft.ca.Pem;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Wires sidecar injection (docs/envoy.md#injection): the injector, which {@link
 * AdmissionConfiguration}'s HTTPS port serves, and, in Kubernetes mode, the leader task that keeps
 * the webhook configuration's {@code caBundle} current. On when {@code weft.injection.enabled} says
 * so, else in Kubernetes mode with the CA on: the webhook's certificate and the sidecars' come from
 * Weft's CA.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(InjectionConfiguration.Enabled.class)
class InjectionConfiguration {

  private static final Logger log = LoggerFactory.getLogger(InjectionConfiguration.class);

  /** {@code weft.injection.enabled}, or, unset, Kubernetes mode with the CA on. */
  static final class Enabled implements Condition {
    static boolean active(Environment environment) {
      return KubernetesMode.webhookOn(environment, "weft.injection.enabled");
    }

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
      return active(context.getEnvironment());
    }
  }

  @Bean
  SidecarInjector sidecarInjector(
      WeftProperties properties,
      XdsConfiguration.XdsServerLifecycle xds,
      ObjectProvider<CaLifecycle> caProvider) {
    CaLifecycle ca = requireCa(caProvider);
    WeftProperties.Injection injection = properties.injection();
    WeftProperties.Ca caSettings = properties.ca();
    SidecarInjector.Settings settings =
        new SidecarInjector.Settings(
            container("weft.injection.init", injection.init()),
            container("weft.injection.agent", injection.agent()),
            container("weft.injection.proxy", injection.proxy()),
            properties.kubernetes().controlPlaneNamespace(),
            controlPlaneSpiffeId(properties),
            caSettings.trustBundleConfigMap(),
            caSettings.tokenAudiences().isEmpty() ? "" : caSettings.tokenAudiences().get(0));
    FieldErrors problems = settings.problems();
    if (!problems.isEmpty()) {
      if (injection.enabled() != null && injection.enabled()) {
        throw new InvalidSettingException(
            problems.toList().get(0).path(),
            problems.toList().get(0).reason(),
            "Set it (docs/envoy.md#injection), or turn injection off (--weft.injection.enabled=false).",
            null);
      }
      log.warn(
          "sidecar injection cannot inject until these are set: {}; Pods are admitted without a"
              + " sidecar meanwhile (docs/envoy.md#injection)",
          problems.toList());
    }
    EnvoyBootstraps envoy = new EnvoyBootstraps(properties, xds, ca);
    return new SidecarInjector(
        settings,
        () -> {
          if (caSettings.dnsNames().isEmpty()) {
            throw new IllegalStateException(
                "weft.ca.dns-names is empty: the agent could not name the CA");
          }
          int port = ca.server().map(CaServer::port).orElse(caSettings.port());
          return new SidecarInjector.Upstream(
              caSettings.dnsNames().get(0) + ":" + port, envoy.controlPlane(true));
        });
  }

  /** The leader keeps the injection webhook configuration's {@code caBundle} current. */
  @Bean(destroyMethod = "close")
  @Conditional(KubernetesMode.class)
  WebhookCaBundle<MutatingWebhookConfiguration> webhookCaBundle(
      WeftProperties properties,
      RegistryConfiguration.KubernetesClientHolder clients,
      ObjectProvider<CaLifecycle> caProvider) {
    return caBundle(
        WebhookCaBundle.MUTATING,
        properties.injection().webhookConfiguration(),
        clients,
        caProvider);
  }

  static <C extends HasMetadata> WebhookCaBundle<C> caBundle(
      WebhookCaBundle.Kind<C> kind,
      String name,
      RegistryConfiguration.KubernetesClientHolder clients,
      ObjectProvider<CaLifecycle> caProvider) {
    CaLifecycle ca = requireCa(caProvider);
    return new WebhookCaBundle<>(
        kind,
        clients.client(),
        name,
        () -> ca.authority().map(authority -> Pem.certificates(authority.trustBundle())),
        DaemonThreads.singleThread("weft-webhook-ca-bundle"),
        WebhookCaBundle.BUNDLE_CHECK);
  }

  static CaLifecycle requireCa(ObjectProvider<CaLifecycle> ca) {
    return requireCa(ca, "weft.injection.enabled", "sidecar injection");
  }

  /** The CA, which a webhook needs for its certificate: without it Weft does not start. */
  static CaLifecycle requireCa(ObjectProvider<CaLifecycle> ca, String setting, String what) {
    CaLifecycle lifecycle = ca.getIfAvailable();
    if (lifecycle == null) {
      throw new InvalidSettingException(
          setting,
          what
              + " needs Weft's CA, which is off (weft.ca.enabled=false): it issues the"
              + " webhook's certificate",
          "Turn the CA on (--weft.ca.enabled=true), or turn it off (--" + setting + "=false).",
          null);
    }
    return lifecycle;
  }

  private static String controlPlaneSpiffeId(WeftProperties properties) {
    return "spiffe://"
        + properties.ca().trustDomain()
        + "/ns/"
        + properties.kubernetes().controlPlaneNamespace()
        + "/sa/"
        + properties.kubernetes().serviceAccount();
  }

  /** A container's template, its quantities checked now rather than by the API server per Pod. */
  private static SidecarInjector.ContainerTemplate container(
      String prefix, WeftProperties.Injection.Sidecar sidecar) {
    ResourceRequirements resources = new ResourceRequirements();
    resources.setRequests(quantities(prefix + ".requests", sidecar.requests()));
    resources.setLimits(quantities(prefix + ".limits", sidecar.limits()));
    return new SidecarInjector.ContainerTemplate(prefix + ".image", sidecar.image(), resources);
  }

  private static Map<String, Quantity> quantities(String prefix, Map<String, String> values) {
    Map<String, Quantity> quantities = new TreeMap<>();
    values.forEach(
        (resource, value) -> {
          try {
            Quantity quantity = Quantity.parse(value);
            var unused = Quantity.getAmountInBytes(quantity);
            quantities.put(resource, quantity);
          } catch (RuntimeException e) {
            throw new InvalidSettingException(
                prefix + "." + resource,
                "\"" + value + "\" is not a Kubernetes quantity",
                "Use a quantity such as 100m (CPU) or 128Mi (memory).",
                e);
          }
        });
    return quantities.isEmpty() ? null : quantities;
  }
}
