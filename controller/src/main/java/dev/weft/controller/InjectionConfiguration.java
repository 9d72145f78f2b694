package dev.weft.controller;

import dev.weft.api.validation.FieldErrors;
import dev.weft.ca.CaServer;
import dev.weft.ca.Pem;
import dev.weft.ca.SvidKeyManager;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Wires sidecar injection (docs/envoy.md#injection): the injector, the HTTPS webhook that serves
 * it, and, in Kubernetes mode, the leader task that keeps the webhook configuration's {@code
 * caBundle} current. On when {@code weft.injection.enabled} says so, else in Kubernetes mode with
 * the CA on: the webhook's certificate and the sidecars' come from Weft's CA.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(InjectionConfiguration.Enabled.class)
class InjectionConfiguration {

  private static final Logger log = LoggerFactory.getLogger(InjectionConfiguration.class);

  /** {@code weft.injection.enabled}, or, unset, Kubernetes mode with the CA on. */
  static final class Enabled implements Condition {
    static boolean active(Environment environment) {
      Binder binder = Binder.get(environment);
      return binder
          .bind("weft.injection.enabled", Boolean.class)
          .orElseGet(
              () ->
                  KubernetesMode.active(environment)
                      && binder.bind("weft.ca.enabled", Boolean.class).orElse(true));
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

  @Bean
  WebhookLifecycle injectionWebhook(
      WeftProperties properties,
      SidecarInjector injector,
      ObjectProvider<CaLifecycle> caProvider,
      MeterRegistry meters) {
    CaLifecycle ca = requireCa(caProvider);
    Map<InjectionReviews.Outcome, Counter> counters = new EnumMap<>(InjectionReviews.Outcome.class);
    for (InjectionReviews.Outcome outcome : InjectionReviews.Outcome.values()) {
      counters.put(
          outcome,
          Counter.builder("weft.injection.reviews")
              .description("AdmissionReviews the injection webhook answered, by outcome")
              .tag("outcome", outcome.tag())
              .register(meters));
    }
    KubernetesSerialization serialization = new KubernetesSerialization();
    InjectionReviews reviews =
        new InjectionReviews(injector, serialization, outcome -> counters.get(outcome).increment());
    Map<ValidationReviews.Outcome, Counter> validated =
        new EnumMap<>(ValidationReviews.Outcome.class);
    for (ValidationReviews.Outcome outcome : ValidationReviews.Outcome.values()) {
      validated.put(
          outcome,
          Counter.builder("weft.validation.reviews")
              .description("AdmissionReviews the validating webhook answered, by outcome")
              .tag("outcome", outcome.tag())
              .register(meters));
    }
    ValidationReviews validation =
        new ValidationReviews(serialization, outcome -> validated.get(outcome).increment());
    // The CA port's own certificate, renewed at half-life; none until the CA runs, and then
    // handshakes fail, as they should.
    X509ExtendedKeyManager keys =
        SvidKeyManager.presenting(() -> ca.server().map(CaServer::serving).orElse(null));
    return new WebhookLifecycle(reviews, validation, keys, properties.injection());
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

  /** The leader keeps the validating webhook configuration's {@code caBundle} current. */
  @Bean(destroyMethod = "close")
  @Conditional(KubernetesMode.class)
  WebhookCaBundle<ValidatingWebhookConfiguration> validatingWebhookCaBundle(
      WeftProperties properties,
      RegistryConfiguration.KubernetesClientHolder clients,
      ObjectProvider<CaLifecycle> caProvider) {
    return caBundle(
        WebhookCaBundle.VALIDATING,
        properties.injection().validatingWebhookConfiguration(),
        clients,
        caProvider);
  }

  private static <C extends HasMetadata> WebhookCaBundle<C> caBundle(
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

  private static CaLifecycle requireCa(ObjectProvider<CaLifecycle> ca) {
    CaLifecycle lifecycle = ca.getIfAvailable();
    if (lifecycle == null) {
      throw new InvalidSettingException(
          "weft.injection.enabled",
          "sidecar injection needs Weft's CA, which is off (weft.ca.enabled=false): it issues the"
              + " webhook's certificate and the sidecars'",
          "Turn the CA on (--weft.ca.enabled=true), or injection off"
              + " (--weft.injection.enabled=false).",
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

  /**
   * Serves the webhook while the application runs. It stops in the CA's phase, after the xDS
   * servers have drained: the API server may call it until this replica has left the Service.
   */
  static final class WebhookLifecycle implements SmartLifecycle {
    private final InjectionReviews reviews;
    private final ValidationReviews validation;
    private final X509ExtendedKeyManager keys;
    private final WeftProperties.Injection settings;
    private volatile AdmissionWebhooks webhook;

    WebhookLifecycle(
        InjectionReviews reviews,
        ValidationReviews validation,
        X509ExtendedKeyManager keys,
        WeftProperties.Injection settings) {
      this.reviews = reviews;
      this.validation = validation;
      this.keys = keys;
      this.settings = settings;
    }

    @Override
    public void start() {
      AdmissionWebhooks.Builder builder = AdmissionWebhooks.builder(reviews, validation, keys);
      XdsConfiguration.limit("weft.injection.port", () -> builder.port(settings.port()));
      try {
        builder.address(settings.address());
      } catch (IllegalArgumentException e) {
        throw new InvalidSettingException(
            "weft.injection.address",
            e.getMessage(),
            "Give an IP address, such as 127.0.0.1, or leave it empty for every address.",
            e);
      }
      try {
        webhook = builder.start();
      } catch (IOException e) {
        throw new InvalidSettingException(
            "weft.injection.port",
            "cannot listen on port " + settings.port() + ": " + e.getMessage(),
            "Stop what listens on it, or choose another port (--weft.injection.port=PORT; 0 picks"
                + " a free one).",
            e);
      }
      log.info(
          "serving the admission webhooks (HTTPS, POST {} and {}) on port {}",
          AdmissionWebhooks.PATH,
          ValidationReviews.PATH,
          webhook.port());
    }

    @Override
    public void stop() {
      AdmissionWebhooks serving = webhook;
      webhook = null;
      if (serving != null) {
        serving.close();
      }
    }

    @Override
    public boolean isRunning() {
      return webhook != null;
    }

    @Override
    public int getPhase() {
      return Phases.CA;
    }

    /** The bound port, while serving. */
    OptionalInt port() {
      AdmissionWebhooks serving = webhook;
      return serving == null ? OptionalInt.empty() : OptionalInt.of(serving.port());
    }
  }
}
