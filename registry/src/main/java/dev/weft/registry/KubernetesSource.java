package dev.weft.registry;

import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A registry source that watches the Kubernetes API through Fabric8 informers: Services,
 * EndpointSlices, Pods, Gateway API HTTPRoutes, GRPCRoutes, Gateways and GatewayClasses, Weft's
 * policies, and the {@code kubernetes.io/tls} Secrets Gateways serve, in all namespaces or a list.
 *
 * <p>Informers list, then watch; after a disconnect they resume the watch or, when the API server
 * has compacted past it, list again and report what changed meanwhile (deletions included). The
 * registry's writes are idempotent and keyed by object, so a relist neither loses nor duplicates
 * anything.
 *
 * <p>The source marks itself synced only once every informer's handler has passed its whole initial
 * list on to the registry: an informer's start completes before its handler has run, and readiness
 * must not come before the registry holds the whole mesh.
 *
 * <p>Routes are optional: when the Gateway API CRDs are not installed, their informers fail with
 * 404, which is logged once, and the source syncs without them.
 *
 * <p>While an informer cannot make its first list (the API server unreachable, a permission
 * missing), Fabric8 retries with back-off; {@link #problem()} says what failed last, for health
 * checks, until it lists.
 *
 * <p>Thread-safety: informer handlers run on Fabric8's serial executors and only call the
 * thread-safe {@link RegistrySource}; the informer list is guarded by this object's monitor; the
 * failures are a concurrent map.
 */
public final class KubernetesSource implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);

  /** How long {@link #close()} waits for an informer to stop, so shutdown never hangs on one. */
  private static final long STOP_TIMEOUT_SECONDS = 5;

  private final KubernetesClient client;
  private final List<String> namespaces;
  private final RegistrySource sink;
  private final boolean gateways;
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private CompletableFuture<Void> initialSync = new CompletableFuture<>();
  private final Map<String, String> failures = new ConcurrentSkipListMap<>();
  private volatile boolean closed;

  /** A source that follows Gateways too; {@code namespaces} empty watches all. */
  public KubernetesSource(KubernetesClient client, List<String> namespaces, RegistrySource sink) {
    this(client, namespaces, sink, true);
  }

  /**
   * @param namespaces the namespaces to watch; empty watches all
   * @param gateways whether to follow Gateways, GatewayClasses and TLS Secrets: reading Secrets is
   *     a privilege a mesh without Gateways need not have
   */
  public KubernetesSource(
      KubernetesClient client, List<String> namespaces, RegistrySource sink, boolean gateways) {
    this.client = client;
    this.namespaces = List.copyOf(namespaces);
    this.sink = sink;
    this.gateways = gateways;
  }

  /** Starts the informers; returns at once. The registry reports synced once they have listed. */
  public synchronized void start() {
    List<CompletableFuture<Void>> synced = new ArrayList<>();
    synced.add(watch(Service.class, KubernetesClient::services, Requirement.REQUIRED));
    synced.add(
        watch(EndpointSlice.class, c -> c.discovery().v1().endpointSlices(), Requirement.REQUIRED));
    synced.add(watch(Pod.class, KubernetesClient::pods, Requirement.REQUIRED));
    synced.add(watch(HTTPRoute.class, c -> c.resources(HTTPRoute.class), Requirement.OPTIONAL));
    synced.add(watch(GRPCRoute.class, c -> c.resources(GRPCRoute.class), Requirement.OPTIONAL));
    synced.add(
        watch(TrafficPolicy.class, c -> c.resources(TrafficPolicy.class), Requirement.OPTIONAL));
    synced.add(watch(FaultPolicy.class, c -> c.resources(FaultPolicy.class), Requirement.OPTIONAL));
    synced.add(
        watch(
            AuthorizationPolicy.class,
            c -> c.resources(AuthorizationPolicy.class),
            Requirement.OPTIONAL));
    synced.add(
        watch(MeshTLSPolicy.class, c -> c.resources(MeshTLSPolicy.class), Requirement.OPTIONAL));
    synced.add(
        watch(
            RateLimitPolicy.class, c -> c.resources(RateLimitPolicy.class), Requirement.OPTIONAL));
    synced.add(watch(Telemetry.class, c -> c.resources(Telemetry.class), Requirement.OPTIONAL));
    if (gateways) {
      synced.add(watch(Gateway.class, c -> c.resources(Gateway.class), Requirement.OPTIONAL));
      synced.add(
          inform(
              GatewayClass.class,
              client.resources(GatewayClass.class).runnableInformer(0),
              Requirement.OPTIONAL));
      // Only the Secrets a Gateway could serve: the API server filters by type, so the informer
      // never holds the cluster's other Secrets (Helm releases, tokens, application credentials).
      synced.add(
          watch(
              Secret.class,
              c -> c.secrets(),
              operation -> operation.withField("type", GatewayDecoder.TLS_SECRET_TYPE),
              Requirement.REQUIRED));
    }
    initialSync =
        CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new))
            .whenComplete(
                (ok, failure) -> {
                  if (failure == null) {
                    sink.markSynced();
                  } else {
                    log.error("Kubernetes source stopped before its initial sync", failure);
                  }
                });
  }

  /**
   * Why the source has not synced yet, if a first list failed: the last failure of each informer
   * that has not listed yet, such as {@code Service: Connection refused}.
   */
  public Optional<String> problem() {
    return failures.isEmpty()
        ? Optional.empty()
        : Optional.of(
            String.join(
                "; ",
                failures.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
  }

  /** Completes once every informer has listed and handed its objects to the registry. */
  public synchronized CompletableFuture<Void> initialSync() {
    return initialSync;
  }

  /** Whether a kind must be served by the API server, or may be missing (its CRD not installed). */
  private enum Requirement {
    REQUIRED,
    OPTIONAL
  }

  private <T extends HasMetadata> CompletableFuture<Void> watch(
      Class<T> type,
      Function<KubernetesClient, MixedOperation<T, ?, ?>> operation,
      Requirement requirement) {
    return watch(type, operation, selection -> selection, requirement);
  }

  /** Watches {@code type} in the source's namespaces, narrowed by {@code filter}. */
  private <T extends HasMetadata> CompletableFuture<Void> watch(
      Class<T> type,
      Function<KubernetesClient, MixedOperation<T, ?, ?>> operation,
      UnaryOperator<FilterWatchListDeletable<T, ?, ?>> filter,
      Requirement requirement) {
    List<CompletableFuture<Void>> synced = new ArrayList<>();
    if (namespaces.isEmpty()) {
      synced.add(
          inform(
              type,
              filter.apply(operation.apply(client).inAnyNamespace()).runnableInformer(0),
              requirement));
    } else {
      for (String namespace : namespaces) {
        synced.add(
            inform(
                type,
                filter.apply(operation.apply(client).inNamespace(namespace)).runnableInformer(0),
                requirement));
      }
    }
    return CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new));
  }

  private <T extends HasMetadata> CompletableFuture<Void> inform(
      Class<T> type, SharedIndexInformer<T> informer, Requirement requirement) {
    RegistryHandler<T> handler = new RegistryHandler<>(type.getSimpleName());
    informer.addEventHandler(handler);
    // Keep retrying after a failure, except for an optional kind the API server does not serve.
    informer.exceptionHandler(
        (started, failure) -> {
          boolean notServed = requirement == Requirement.OPTIONAL && isNotFound(failure);
          if (!notServed && !started) {
            failures.put(type.getSimpleName(), Failures.describe(failure));
          }
          return !notServed;
        });
    synchronized (this) {
      informers.add(informer);
    }
    informer
        .start()
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) {
                return;
              }
              if (requirement == Requirement.OPTIONAL && isNotFound(failure)) {
                log.warn(
                    "{} is not served by the API server (Gateway API CRDs not installed?);"
                        + " routes of this kind are not watched until Weft restarts",
                    type.getSimpleName());
                handler.notServed();
              } else {
                handler.failed(failure);
              }
            });
    return handler.synced;
  }

  private static boolean isNotFound(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof KubernetesClientException k
          && k.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        return true;
      }
    }
    return false;
  }

  /** Stops every informer and waits, briefly, until each has closed its watch. */
  @Override
  public synchronized void close() {
    closed = true;
    informers.forEach(SharedIndexInformer::stop);
    for (SharedIndexInformer<?> informer : informers) {
      try {
        informer.stopped().toCompletableFuture().get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        log.debug(
            "{} informer did not stop cleanly", informer.getApiTypeClass().getSimpleName(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    informers.clear();
  }

  /**
   * Passes an informer's events to the registry, and completes {@link #synced} at the end of the
   * first list. Fabric8 calls {@code onList} on the same serial executor as the events, after the
   * adds of that list, so by then every listed object has been handed to the registry.
   */
  private final class RegistryHandler<T extends HasMetadata> implements ResourceEventHandler<T> {
    private final String kind;
    private final CompletableFuture<Void> synced = new CompletableFuture<>();

    RegistryHandler(String kind) {
      this.kind = kind;
    }

    @Override
    public void onAdd(T object) {
      sink.upsert(object);
    }

    @Override
    public void onUpdate(T previous, T object) {
      sink.upsert(object);
    }

    @Override
    public void onDelete(T object, boolean finalStateUnknown) {
      sink.delete(object);
    }

    @Override
    public void onList(String resourceVersion, boolean remainedEmpty) {
      failures.remove(kind);
      if (synced.complete(null)) {
        log.debug("{} informer listed at resourceVersion {}", kind, resourceVersion);
      } else {
        log.info("{} informer relisted at resourceVersion {}", kind, resourceVersion);
      }
    }

    void notServed() {
      synced.complete(null);
    }

    void failed(Throwable failure) {
      if (closed) {
        log.debug("{} informer stopped before its first list", kind);
      } else {
        log.error("{} informer failed to start", kind, failure);
      }
      synced.completeExceptionally(failure);
    }
  }
}
