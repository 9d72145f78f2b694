package dev.weft.controller;

import dev.weft.ca.CaServer;
import dev.weft.ca.SvidKeyManager;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Wires the HTTPS port of the admission webhooks ({@code weft.webhooks.*}): sidecar injection's,
 * when {@link InjectionConfiguration} is on, and the validating webhook's, when {@code
 * weft.validation.enabled} says so (unset: in Kubernetes mode with the CA on). The two are separate
 * so that a cluster that injects no sidecar still has invalid routes and policies refused at {@code
 * kubectl apply}.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(AdmissionConfiguration.Enabled.class)
class AdmissionConfiguration {

  private static final Logger log = LoggerFactory.getLogger(AdmissionConfiguration.class);

  /** Either webhook is on. */
  static final class Enabled implements Condition {
    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
      Environment environment = context.getEnvironment();
      return InjectionConfiguration.Enabled.active(environment)
          || ValidationEnabled.active(environment);
    }
  }

  /** {@code weft.validation.enabled}, or, unset, Kubernetes mode with the CA on. */
  static final class ValidationEnabled implements Condition {
    static boolean active(Environment environment) {
      return KubernetesMode.webhookOn(environment, "weft.validation.enabled");
    }

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
      return active(context.getEnvironment());
    }
  }

  @Bean
  WebhookLifecycle admissionWebhooks(
      WeftProperties properties,
      ObjectProvider<SidecarInjector> injector,
      ObjectProvider<CaLifecycle> caProvider,
      Environment environment,
      MeterRegistry meters) {
    boolean validating = ValidationEnabled.active(environment);
    SidecarInjector sidecars = injector.getIfAvailable();
    CaLifecycle ca =
        sidecars != null
            ? InjectionConfiguration.requireCa(caProvider)
            : InjectionConfiguration.requireCa(
                caProvider, "weft.validation.enabled", "the validating webhook");
    KubernetesSerialization serialization = new KubernetesSerialization();
    InjectionReviews injection =
        sidecars == null
            ? null
            : new InjectionReviews(
                sidecars,
                serialization,
                counted(
                    InjectionReviews.Outcome.class,
                    InjectionReviews.Outcome::tag,
                    "weft.injection.reviews",
                    "AdmissionReviews the injection webhook answered, by outcome",
                    meters));
    ValidationReviews validation =
        !validating
            ? null
            : new ValidationReviews(
                serialization,
                counted(
                    ValidationReviews.Outcome.class,
                    ValidationReviews.Outcome::tag,
                    "weft.validation.reviews",
                    "AdmissionReviews the validating webhook answered, by outcome",
                    meters));
    // The CA port's own certificate, renewed at half-life; none until the CA runs, and then
    // handshakes fail, as they should.
    X509ExtendedKeyManager keys =
        SvidKeyManager.presenting(() -> ca.server().map(CaServer::serving).orElse(null));
    return new WebhookLifecycle(injection, validation, keys, properties.webhooks());
  }

  /** Counts each outcome of a webhook's reviews in a counter of its own, registered up front. */
  private static <O extends Enum<O>> Consumer<O> counted(
      Class<O> outcomes,
      Function<O, String> tag,
      String name,
      String description,
      MeterRegistry meters) {
    Map<O, Counter> counters = new EnumMap<>(outcomes);
    for (O outcome : outcomes.getEnumConstants()) {
      counters.put(
          outcome,
          Counter.builder(name)
              .description(description)
              .tag("outcome", tag.apply(outcome))
              .register(meters));
    }
    return outcome -> counters.get(outcome).increment();
  }

  /** The leader keeps the validating webhook configuration's {@code caBundle} current. */
  @Bean(destroyMethod = "close")
  @Conditional({KubernetesMode.class, ValidationEnabled.class})
  WebhookCaBundle<ValidatingWebhookConfiguration> validatingWebhookCaBundle(
      WeftProperties properties,
      RegistryConfiguration.KubernetesClientHolder clients,
      ObjectProvider<CaLifecycle> caProvider) {
    return InjectionConfiguration.caBundle(
        WebhookCaBundle.VALIDATING,
        properties.validation().webhookConfiguration(),
        clients,
        caProvider);
  }

  /**
   * Serves the webhooks while the application runs. It stops in the CA's phase, after the xDS
   * servers have drained: the API server may call it until this replica has left the Service.
   */
  static final class WebhookLifecycle implements SmartLifecycle {
    private final InjectionReviews injection;
    private final ValidationReviews validation;
    private final X509ExtendedKeyManager keys;
    private final WeftProperties.Webhooks settings;
    private volatile AdmissionWebhooks webhook;

    /** {@code injection} or {@code validation} may be null: that webhook is off. */
    WebhookLifecycle(
        InjectionReviews injection,
        ValidationReviews validation,
        X509ExtendedKeyManager keys,
        WeftProperties.Webhooks settings) {
      this.injection = injection;
      this.validation = validation;
      this.keys = keys;
      this.settings = settings;
    }

    @Override
    public void start() {
      AdmissionWebhooks.Builder builder = AdmissionWebhooks.builder(keys);
      if (injection != null) {
        builder.injection(injection);
      }
      if (validation != null) {
        builder.validation(validation);
      }
      XdsConfiguration.limit("weft.webhooks.port", () -> builder.port(settings.port()));
      try {
        builder.address(settings.address());
      } catch (IllegalArgumentException e) {
        throw new InvalidSettingException(
            "weft.webhooks.address",
            e.getMessage(),
            "Give an IP address, such as 127.0.0.1, or leave it empty for every address.",
            e);
      }
      try {
        webhook = builder.start();
      } catch (IOException e) {
        throw new InvalidSettingException(
            "weft.webhooks.port",
            "cannot listen on port " + settings.port() + ": " + e.getMessage(),
            "Stop what listens on it, or choose another port (--weft.webhooks.port=PORT; 0 picks"
                + " a free one).",
            e);
      }
      log.info(
          "serving the admission webhooks (HTTPS{}{}) on port {}",
          injection == null ? "" : ", POST " + AdmissionWebhooks.PATH,
          validation == null ? "" : ", POST " + ValidationReviews.PATH,
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
