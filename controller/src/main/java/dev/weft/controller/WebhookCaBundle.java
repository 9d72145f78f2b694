package dev.weft.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.WebhookClientConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;

/**
 * Keeps the {@code caBundle} of one of Weft's webhook configurations (the injection webhook's
 * MutatingWebhookConfiguration, the validating webhook's ValidatingWebhookConfiguration: {@link
 * Kind}) equal to the CA's trust bundle, so that the API server verifies the webhook's certificate
 * (the control plane's own SVID) through root rotations, as Istio's webhook patcher does. The chart
 * creates the configuration without a bundle, which it cannot know; the leader fills it in and puts
 * it back when it is edited. Runs on the leader only.
 *
 * <p>Only the webhooks Weft owns (named {@code *}{@value #OWNED_SUFFIX}) are touched, and only
 * their {@code clientConfig.caBundle}: one JSON patch, written only when a bundle differs, each
 * change preceded by a {@code test} of the webhook's name at its index, so that a concurrent edit
 * that moved the webhooks fails the patch instead of writing the wrong one. The configuration is
 * followed by an informer on its name alone (a list and watch with the field selector {@code
 * metadata.name}, which RBAC authorizes by name); the bundle is compared every minute, as it
 * changes when a root rotation begins or ends, hours to months apart.
 *
 * <p>Thread-safety: everything runs on {@code executor}, a single thread, which owns the fields;
 * the informer's handler only hands events to it. Owns that executor and shuts it down on {@link
 * #close()}.
 */
final class WebhookCaBundle<C extends HasMetadata>
    implements LeaderElection.LeaderTask, AutoCloseable {

  /**
   * What differs between the two kinds of webhook configuration: their name, how to follow one
   * object by name, and the names and bundles of its webhooks.
   *
   * @param name the Kubernetes kind, for logs
   * @param purpose what the API server cannot do while the object is missing, for a warning
   * @param setting the setting that names the object, for the same warning
   */
  record Kind<C extends HasMetadata>(
      String name,
      String purpose,
      String setting,
      BiFunction<KubernetesClient, String, SharedIndexInformer<C>> informer,
      Function<C, List<Webhook>> webhooks) {}

  /** One webhook of a configuration: its name, and its bundle (null: no client configuration). */
  record Webhook(String name, boolean hasClientConfig, String caBundle) {
    static Webhook of(String name, WebhookClientConfig config) {
      return new Webhook(name, config != null, config == null ? null : config.getCaBundle());
    }
  }

  static final Kind<MutatingWebhookConfiguration> MUTATING =
      new Kind<>(
          "MutatingWebhookConfiguration",
          "no Pod is sent to the injection webhook",
          "weft.injection.webhook-configuration",
          (client, name) ->
              client
                  .admissionRegistration()
                  .v1()
                  .mutatingWebhookConfigurations()
                  .withField("metadata.name", name)
                  .runnableInformer(0),
          configuration ->
              configuration.getWebhooks() == null
                  ? List.of()
                  : configuration.getWebhooks().stream()
                      .map(w -> Webhook.of(w.getName(), w.getClientConfig()))
                      .toList());

  static final Kind<ValidatingWebhookConfiguration> VALIDATING =
      new Kind<>(
          "ValidatingWebhookConfiguration",
          "no route or policy is checked at kubectl apply",
          "weft.validation.webhook-configuration",
          (client, name) ->
              client
                  .admissionRegistration()
                  .v1()
                  .validatingWebhookConfigurations()
                  .withField("metadata.name", name)
                  .runnableInformer(0),
          configuration ->
              configuration.getWebhooks() == null
                  ? List.of()
                  : configuration.getWebhooks().stream()
                      .map(w -> Webhook.of(w.getName(), w.getClientConfig()))
                      .toList());

  /** The webhooks of the configuration Weft writes the bundle of. */
  static final String OWNED_SUFFIX = ".weft.dev";

  /** Root rotation steps are hours apart; a minute's delay in publishing them costs nothing. */
  static final Duration BUNDLE_CHECK = Duration.ofMinutes(1);

  /**
   * Until the CA has loaded (moments after start, or once the API server answers), the bundle is
   * looked for every second: until it is written, the API server cannot call the webhook.
   */
  private static final Duration FIRST_BUNDLE_CHECK = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(WebhookCaBundle.class);

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final Kind<C> kind;
  private final KubernetesClient client;
  private final String name;
  private final Supplier<Optional<String>> bundle;
  private final ScheduledExecutorService executor;
  private final Duration bundleCheck;

  /** Volatile for {@link #close()}, which runs on another thread. */
  private volatile SharedIndexInformer<C> informer;

  private C current;
  private String desired;
  private ScheduledFuture<?> checks;
  private boolean leading;
  private boolean reportedMissing;

  /**
   * @param kind which kind of configuration
   * @param name the configuration
   * @param bundle the trust bundle as PEM, once the CA is loaded
   * @param bundleCheck how often the bundle is compared ({@link #BUNDLE_CHECK})
   */
  WebhookCaBundle(
      Kind<C> kind,
      KubernetesClient client,
      String name,
      Supplier<Optional<String>> bundle,
      ScheduledExecutorService executor,
      Duration bundleCheck) {
    this.kind = kind;
    this.client = client;
    this.name = name;
    this.bundle = bundle;
    this.executor = executor;
    this.bundleCheck = bundleCheck;
  }

  @Override
  public void startLeading() {
    onExecutor(
        () -> {
          leading = true;
          informer = kind.informer().apply(client, name);
          informer.addEventHandler(
              new ResourceEventHandler<>() {
                @Override
                public void onAdd(C object) {
                  onExecutor(() -> changed(object));
                }

                @Override
                public void onUpdate(C previous, C object) {
                  onExecutor(() -> changed(object));
                }

                @Override
                public void onDelete(C object, boolean unknown) {
                  onExecutor(() -> current = null);
                }
              });
          // Retries, with back-off, until the API server answers.
          informer.exceptionHandler((started, failure) -> true);
          informer.start();
          checks = executor.schedule(this::check, 0, TimeUnit.MILLISECONDS);
        });
  }

  /** Stops following; what was written stays, and the next leader rewrites only what differs. */
  @Override
  public void stopLeading() {
    onExecutor(
        () -> {
          leading = false;
          if (informer != null) {
            informer.stop();
            informer = null;
          }
          if (checks != null) {
            checks.cancel(false);
          }
          current = null;
          desired = null;
        });
  }

  private void changed(C configuration) {
    current = configuration;
    reconcile();
  }

  /** Takes up a changed bundle; retries a write that failed; schedules the next check. */
  private void check() {
    if (!leading) {
      return;
    }
    Optional<String> pem = bundle.get();
    Duration next =
        pem.isPresent() || bundleCheck.compareTo(FIRST_BUNDLE_CHECK) < 0
            ? bundleCheck
            : FIRST_BUNDLE_CHECK;
    checks = executor.schedule(this::check, next.toMillis(), TimeUnit.MILLISECONDS);
    if (pem.isEmpty()) {
      return; // the CA is not loaded yet
    }
    desired = Base64.getEncoder().encodeToString(pem.get().getBytes(StandardCharsets.UTF_8));
    if (current == null && informer != null && informer.hasSynced() && !reportedMissing) {
      reportedMissing = true;
      log.warn(
          "{} {} does not exist: {} (the chart creates it; {} names it)",
          kind.name(),
          name,
          kind.purpose(),
          kind.setting());
    }
    reconcile();
  }

  private void reconcile() {
    C configuration = current;
    if (!leading || desired == null || configuration == null) {
      return;
    }
    ArrayNode patch = JSON.createArrayNode();
    List<String> changed = new ArrayList<>();
    List<Webhook> webhooks = kind.webhooks().apply(configuration);
    for (int i = 0; i < webhooks.size(); i++) {
      Webhook webhook = webhooks.get(i);
      if (webhook.name() == null
          || !webhook.name().endsWith(OWNED_SUFFIX)
          || !webhook.hasClientConfig()
          || desired.equals(webhook.caBundle())) {
        continue;
      }
      patch
          .addObject()
          .put("op", "test")
          .put("path", "/webhooks/" + i + "/name")
          .put("value", webhook.name());
      patch
          .addObject()
          .put("op", "add")
          .put("path", "/webhooks/" + i + "/clientConfig/caBundle")
          .put("value", desired);
      changed.add(webhook.name());
    }
    if (changed.isEmpty()) {
      return;
    }
    try {
      // On the object the informer gave: Fabric8 patches it by name without reading it first,
      // so the only verbs are list, watch and patch.
      current =
          client.resource(configuration).patch(PatchContext.of(PatchType.JSON), patch.toString());
      log.info("wrote the trust bundle into {} of {} {}", changed, kind.name(), name);
    } catch (KubernetesClientException e) {
      log.info(
          "writing the trust bundle into {} {} failed ({}); retrying at its next change or within"
              + " {}",
          kind.name(),
          name,
          e.getMessage(),
          bundleCheck);
    }
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException closed) {
      // Shut down: nothing is written any more.
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    SharedIndexInformer<C> running = informer;
    if (running != null) {
      running.stop();
    }
  }
}
