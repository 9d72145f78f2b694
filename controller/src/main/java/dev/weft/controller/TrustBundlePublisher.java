package dev.weft.controller;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the CA's trust bundle in a ConfigMap (key {@code ca.crt}) in every mesh namespace, where
 * workloads mount it to trust the CA's CSR service and each other's certificates, as Istio does
 * with {@code istio-ca-root-cert}. Runs on the leader only.
 *
 * <p>The mesh namespaces are {@code weft.kubernetes.namespaces}, or every namespace but Kubernetes'
 * own ({@code kube-system}, {@code kube-public}, {@code kube-node-lease}) when that is empty; a
 * namespace informer brings new ones. A ConfigMap informer, restricted by field selector to the
 * ConfigMap's name (so that RBAC can restrict it to that name too), brings edits and deletions,
 * which are undone. The bundle itself is compared every minute with what was published: it changes
 * when a root rotation begins or ends, hours to months apart.
 *
 * <p>Reconciling a namespace is idempotent: it writes only when the ConfigMap is missing or holds
 * another bundle; a failed write (the API server away, the namespace terminating) is retried at the
 * next check.
 *
 * <p>Thread-safety: everything runs on {@code executor}, a single thread, which owns the fields;
 * informer handlers only hand events to it (their informers retry, with back-off, until the API
 * server answers). The publisher owns that executor and shuts it down on {@link #close()}.
 */
final class TrustBundlePublisher implements LeaderElection.LeaderTask, AutoCloseable {

  static final String KEY = "ca.crt";

  /** Kubernetes' own namespaces, which run no mesh workloads. */
  private static final Set<String> SYSTEM_NAMESPACES =
      Set.of("kube-system", "kube-public", "kube-node-lease");

  /** Root rotation steps are hours apart; a minute's delay in publishing them costs nothing. */
  private static final long BUNDLE_CHECK_SECONDS = 60;

  private static final Logger log = LoggerFactory.getLogger(TrustBundlePublisher.class);

  private final KubernetesClient client;
  private final List<String> configuredNamespaces;
  private final String name;
  private final Supplier<Optional<String>> bundle;
  private final ScheduledExecutorService executor;
  private final Set<String> namespaces = new HashSet<>();
  private final Map<String, ConfigMap> published = new HashMap<>();
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private String publishedBundle;
  private ScheduledFuture<?> checks;
  private boolean leading;

  /**
   * @param namespaces the mesh namespaces; empty means every namespace but Kubernetes' own
   * @param name the ConfigMap's name
   * @param bundle the trust bundle as PEM, once the CA is loaded
   */
  TrustBundlePublisher(
      KubernetesClient client,
      List<String> namespaces,
      String name,
      Supplier<Optional<String>> bundle,
      ScheduledExecutorService executor) {
    this.client = client;
    this.configuredNamespaces = List.copyOf(namespaces);
    this.name = name;
    this.bundle = bundle;
    this.executor = executor;
  }

  @Override
  public void startLeading() {
    onExecutor(
        () -> {
          leading = true;
          if (configuredNamespaces.isEmpty()) {
            start(
                client.namespaces().runnableInformer(0),
                handler(this::namespaceAdded, this::namespaceGone));
            start(
                client
                    .configMaps()
                    .inAnyNamespace()
                    .withField("metadata.name", name)
                    .runnableInformer(0),
                handler(this::configMapChanged, this::configMapGone));
          } else {
            namespaces.addAll(configuredNamespaces);
            for (String namespace : configuredNamespaces) {
              start(
                  client
                      .configMaps()
                      .inNamespace(namespace)
                      .withField("metadata.name", name)
                      .runnableInformer(0),
                  handler(this::configMapChanged, this::configMapGone));
            }
          }
          checks =
              executor.scheduleWithFixedDelay(
                  this::checkAll, 0, BUNDLE_CHECK_SECONDS, TimeUnit.SECONDS);
        });
  }

  /** Stops publishing; what was published stays, and the next leader rewrites only what differs. */
  @Override
  public void stopLeading() {
    onExecutor(
        () -> {
          leading = false;
          informers.forEach(SharedIndexInformer::stop);
          informers.clear();
          if (checks != null) {
            checks.cancel(false);
          }
          namespaces.clear();
          published.clear();
          publishedBundle = null;
        });
  }

  /** Starts an informer that retries, with back-off, until the API server answers. */
  private <T> void start(SharedIndexInformer<T> informer, ResourceEventHandler<T> handler) {
    informer.addEventHandler(handler);
    informer.exceptionHandler((started, failure) -> true);
    informers.add(informer);
    informer.start();
  }

  private <T> ResourceEventHandler<T> handler(Consumer<T> changed, Consumer<T> gone) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T object) {
        onExecutor(() -> changed.accept(object));
      }

      @Override
      public void onUpdate(T previous, T object) {
        onExecutor(() -> changed.accept(object));
      }

      @Override
      public void onDelete(T object, boolean finalStateUnknown) {
        onExecutor(() -> gone.accept(object));
      }
    };
  }

  private void namespaceAdded(Namespace namespace) {
    String namespaceName = namespace.getMetadata().getName();
    if (!SYSTEM_NAMESPACES.contains(namespaceName) && namespaces.add(namespaceName)) {
      reconcile(namespaceName);
    }
  }

  private void namespaceGone(Namespace namespace) {
    namespaces.remove(namespace.getMetadata().getName());
    published.remove(namespace.getMetadata().getName());
  }

  /** The ConfigMap as it is now: our own write coming back, or someone else's edit. */
  private void configMapChanged(ConfigMap configMap) {
    String namespace = configMap.getMetadata().getNamespace();
    if (!namespaces.contains(namespace)) {
      return;
    }
    if (holdsBundle(configMap)) {
      published.put(namespace, configMap);
    } else {
      published.remove(namespace);
      reconcile(namespace);
    }
  }

  private void configMapGone(ConfigMap configMap) {
    String namespace = configMap.getMetadata().getNamespace();
    published.remove(namespace);
    if (namespaces.contains(namespace)) {
      reconcile(namespace);
    }
  }

  private boolean holdsBundle(ConfigMap configMap) {
    return publishedBundle != null
        && configMap.getData() != null
        && publishedBundle.equals(configMap.getData().get(KEY));
  }

  /** Publishes a changed bundle everywhere, and retries namespaces whose last write failed. */
  private void checkAll() {
    Optional<String> current = bundle.get();
    if (current.isEmpty()) {
      return; // the CA is not loaded yet
    }
    if (!current.get().equals(publishedBundle)) {
      publishedBundle = current.get();
      published.clear();
      log.info("publishing the trust bundle to {} namespaces", namespaces.size());
    }
    for (String namespace : namespaces) {
      if (!published.containsKey(namespace)) {
        reconcile(namespace);
      }
    }
  }

  private void reconcile(String namespace) {
    if (!leading || publishedBundle == null || published.containsKey(namespace)) {
      return;
    }
    try {
      ConfigMap current = client.configMaps().inNamespace(namespace).withName(name).get();
      if (current != null && holdsBundle(current)) {
        published.put(namespace, current);
        return;
      }
      ConfigMap desired =
          new ConfigMapBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(namespace)
              .addToLabels("app.kubernetes.io/managed-by", "weft")
              .withResourceVersion(
                  current == null ? null : current.getMetadata().getResourceVersion())
              .endMetadata()
              .addToData(KEY, publishedBundle)
              .build();
      ConfigMap written =
          current == null
              ? client.configMaps().inNamespace(namespace).resource(desired).create()
              : client.configMaps().inNamespace(namespace).resource(desired).update();
      published.put(namespace, written);
      log.debug("published the trust bundle to {}/{}", namespace, name);
    } catch (KubernetesClientException e) {
      log.info(
          "publishing the trust bundle to {}/{} failed ({}); retrying within {} s",
          namespace,
          name,
          e.getMessage(),
          BUNDLE_CHECK_SECONDS);
    }
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException closed) {
      // Shut down: nothing is published any more.
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    informers.forEach(SharedIndexInformer::stop);
  }
}
