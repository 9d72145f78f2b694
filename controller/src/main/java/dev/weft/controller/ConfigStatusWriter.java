package dev.weft.controller;

import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.PolicyStatus;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.ConfigCondition;
import dev.weft.registry.ConfigStatus;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshRegistry;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import dev.weft.registry.ResourceKind;
import dev.weft.registry.Subscription;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteStatus;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteStatus;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the status of mesh routes and Weft policies to Kubernetes. A route gets one {@code
 * status.parents} entry per Service parent, owned by Weft's controller name, with {@code Accepted},
 * {@code ResolvedRefs} and {@code Programmed}; entries of other controllers are kept. A policy gets
 * {@code status.conditions}. Runs only on the leader, so replicas never fight over a status.
 *
 * <p>Reconciling is idempotent: it computes every route's conditions from the newest snapshot and
 * writes only those that differ from what it last wrote; a failed write (a conflict, the API server
 * away) is retried at the next pass. {@code Programmed} follows the proxies ({@link
 * RolloutConditions}: "N of M proxies hold it", over the proxies of every replica, which a pass
 * asks the other replicas for: {@link ReplicaRollouts}), which the registry does not report: until
 * every valid route is programmed, passes repeat every 200 ms, and every 5 s while a proxy's
 * rejection holds one back (the proxy may reconnect, or leave).
 *
 * <p>Writes are bounded, so that a rollout to 10,000 proxies does not become a storm of status
 * updates: an object whose conditions differ only in their messages (the count of proxies) is
 * written at most once a second, and a pass writes at most {@value #MAX_WRITES_PER_PASS} objects
 * (so at most 100 a second); the rest wait for the next pass.
 *
 * <p>Thread-safety: everything runs on {@code executor}, a single thread, which owns the fields.
 * The writer owns that executor and shuts it down on {@link #close()}.
 */
final class ConfigStatusWriter implements LeaderElection.LeaderTask, AutoCloseable {

  static final String CONTROLLER_NAME = "weft.dev/mesh-controller";

  private static final Logger log = LoggerFactory.getLogger(ConfigStatusWriter.class);

  /**
   * How long a pass waits after a change: long enough to take a burst of edits at once and for the
   * distributor to publish them (its longest coalescing delay is 100 ms by default).
   */
  private static final Duration SETTLE = Duration.ofMillis(200);

  /** How often a route a proxy rejected is looked at again. */
  private static final Duration RECHECK_REJECTED = Duration.ofSeconds(5);

  /** The least time between two writes of one object that change only its messages. */
  private static final Duration MESSAGE_REFRESH = Duration.ofSeconds(1);

  static final int MAX_WRITES_PER_PASS = 20;

  private final KubernetesClient client;
  private final MeshRegistry registry;
  private final ConfigDistributor distributor;
  private final Function<List<ObjectKey>, ReplicaRollouts.Peers> peerRollouts;
  private final ScheduledExecutorService executor;
  private final Clock clock;

  /**
   * What was last written per object, with the generation it was computed for: an edit that leaves
   * the conditions as they were (a rollback the proxies took up before the pass) still needs its
   * {@code observedGeneration}, which is what {@code weft shift --wait} and kubectl wait for.
   */
  private final Map<ObjectKey, Written> written = new HashMap<>();

  private final Map<ObjectKey, Instant> writtenAt = new HashMap<>();
  private Subscription subscription;
  private ScheduledFuture<?> pass;

  /** The conditions written for one generation of an object. */
  private record Written(List<ConfigCondition> conditions, Long generation) {}

  ConfigStatusWriter(
      KubernetesClient client,
      MeshRegistry registry,
      ConfigDistributor distributor,
      Function<List<ObjectKey>, ReplicaRollouts.Peers> peerRollouts,
      ScheduledExecutorService executor,
      Clock clock) {
    this.client = client;
    this.registry = registry;
    this.distributor = distributor;
    this.peerRollouts = peerRollouts;
    this.executor = executor;
    this.clock = clock;
  }

  @Override
  public void startLeading() {
    executor.execute(
        () -> {
          subscription = registry.subscribe(executor, (state, changes) -> schedulePass());
          schedulePass();
        });
  }

  /** Stops writing; what was written stays, and the next leader rewrites only what differs. */
  @Override
  public void stopLeading() {
    executor.execute(
        () -> {
          if (subscription != null) {
            subscription.close();
          }
          if (pass != null) {
            pass.cancel(false);
          }
          written.clear();
          writtenAt.clear();
        });
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }

  private void schedulePass() {
    schedulePass(SETTLE);
  }

  private void schedulePass(Duration delay) {
    if (pass == null || pass.isDone()) {
      pass = executor.schedule(this::reconcile, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void reconcile() {
    pass = null; // this pass is running: a pending route must be able to schedule the next one
    MeshState state = registry.current();
    boolean pending = false;
    boolean rejected = false;
    int writes = 0;
    Map<ObjectKey, List<ConfigCondition>> next = new HashMap<>();
    List<ObjectKey> keys = new ArrayList<>();
    for (MeshConfig config : state.configs().values()) {
      if (hasStatus(config)) {
        keys.add(config.key());
      }
    }
    // The other replicas' proxies: one round of calls per pass, and passes run only while some
    // object is not programmed yet (or after a change), on this writer's own thread.
    ReplicaRollouts.Peers peers = peerRollouts.apply(keys);
    Instant now = clock.instant();
    for (ObjectKey key : keys) {
      List<ConfigCondition> conditions = new ArrayList<>(ConfigStatus.of(state, key));
      ConfigCondition programmed = RolloutConditions.programmed(state, distributor, key, peers);
      conditions.add(programmed);
      // An invalid config waits for an edit, which the registry reports; only the proxies' side
      // needs polling.
      pending |= programmed.reason().equals(RolloutConditions.PENDING);
      rejected |= programmed.reason().equals(RolloutConditions.REJECTED);
      next.put(key, conditions);
      Written computed =
          new Written(
              conditions, state.configs().get(key).resource().getMetadata().getGeneration());
      Written last = written.get(key);
      if (computed.equals(last)) {
        continue;
      }
      boolean onlyMessages =
          last != null
              && Objects.equals(last.generation(), computed.generation())
              && sameExceptMessages(last.conditions(), conditions);
      if (writes == MAX_WRITES_PER_PASS
          || (onlyMessages && now.isBefore(writtenAt.get(key).plus(MESSAGE_REFRESH)))) {
        pending = true; // written at a later pass
        continue;
      }
      writes++;
      if (write(key, conditions)) {
        written.put(key, computed);
        writtenAt.put(key, now);
      } else {
        pending = true;
      }
    }
    written.keySet().retainAll(next.keySet());
    writtenAt.keySet().retainAll(next.keySet());
    if (pending) {
      schedulePass();
    } else if (rejected) {
      schedulePass(RECHECK_REJECTED);
    }
  }

  /** Whether Weft writes the status of {@code config}'s object. */
  private static boolean hasStatus(MeshConfig config) {
    ResourceKind kind = config.key().kind();
    return kind != ResourceKind.SERVICE
        && kind != ResourceKind.ENDPOINT_SLICE
        && kind != ResourceKind.POD
        // Gateways' status is not written yet (docs/envoy.md#gateways), nor that of routes whose
        // parents are Gateways only: they have no Service parent to report on.
        && kind != ResourceKind.GATEWAY
        && kind != ResourceKind.GATEWAY_CLASS
        && kind != ResourceKind.SECRET
        && !config.route().map(route -> route.parents().isEmpty()).orElse(false);
  }

  /** Whether two lists of conditions say the same but for their messages. */
  private static boolean sameExceptMessages(List<ConfigCondition> a, List<ConfigCondition> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      ConfigCondition x = a.get(i);
      ConfigCondition y = b.get(i);
      if (!x.type().equals(y.type())
          || x.status() != y.status()
          || !x.reason().equals(y.reason())) {
        return false;
      }
    }
    return true;
  }

  /** Writes one route's status; returns whether it was written. */
  private boolean write(ObjectKey key, List<ConfigCondition> conditions) {
    try {
      HasMetadata current =
          client
              .resources(javaType(key.kind()))
              .inNamespace(key.namespace())
              .withName(key.name())
              .get();
      if (current == null) {
        return true; // deleted meanwhile; the registry will drop it
      }
      Long generation = current.getMetadata().getGeneration();
      if (current instanceof HTTPRoute route) {
        HTTPRouteStatus status =
            route.getStatus() == null ? new HTTPRouteStatus() : route.getStatus();
        status.setParents(
            parents(status.getParents(), route.getSpec().getParentRefs(), conditions, generation));
        route.setStatus(status);
      } else if (current instanceof GRPCRoute route) {
        GRPCRouteStatus status =
            route.getStatus() == null ? new GRPCRouteStatus() : route.getStatus();
        status.setParents(
            parents(status.getParents(), route.getSpec().getParentRefs(), conditions, generation));
        route.setStatus(status);
      } else if (current instanceof TrafficPolicy policy) {
        policy.setStatus(policyStatus(policy.getStatus(), conditions, generation));
      } else if (current instanceof FaultPolicy policy) {
        policy.setStatus(policyStatus(policy.getStatus(), conditions, generation));
      } else if (current instanceof AuthorizationPolicy policy) {
        policy.setStatus(policyStatus(policy.getStatus(), conditions, generation));
      } else if (current instanceof MeshTLSPolicy policy) {
        policy.setStatus(policyStatus(policy.getStatus(), conditions, generation));
      } else if (current instanceof RateLimitPolicy policy) {
        policy.setStatus(policyStatus(policy.getStatus(), conditions, generation));
      } else if (current instanceof Telemetry telemetry) {
        telemetry.setStatus(policyStatus(telemetry.getStatus(), conditions, generation));
      }
      client.resource(current).updateStatus();
      log.debug("wrote the status of {}: {}", key, conditions);
      return true;
    } catch (KubernetesClientException e) {
      log.info("writing the status of {} failed ({}); retrying", key, e.getMessage());
      return false;
    }
  }

  private static Class<? extends HasMetadata> javaType(ResourceKind kind) {
    return switch (kind) {
      case HTTP_ROUTE -> HTTPRoute.class;
      case GRPC_ROUTE -> GRPCRoute.class;
      case TRAFFIC_POLICY -> TrafficPolicy.class;
      case FAULT_POLICY -> FaultPolicy.class;
      case AUTHORIZATION_POLICY -> AuthorizationPolicy.class;
      case MESH_TLS_POLICY -> MeshTLSPolicy.class;
      case RATE_LIMIT_POLICY -> RateLimitPolicy.class;
      case TELEMETRY -> Telemetry.class;
      case SERVICE, ENDPOINT_SLICE, POD, GATEWAY, GATEWAY_CLASS, SECRET ->
          throw new IllegalArgumentException(kind + " has no status Weft writes");
    };
  }

  private PolicyStatus policyStatus(
      PolicyStatus existing, List<ConfigCondition> conditions, Long generation) {
    Map<String, Condition> previous = new HashMap<>();
    if (existing != null && existing.getConditions() != null) {
      for (Condition condition : existing.getConditions()) {
        previous.put(condition.getType(), condition);
      }
    }
    List<Condition> written = new ArrayList<>();
    for (ConfigCondition condition : conditions) {
      written.add(condition(condition, previous.get(condition.type()), generation));
    }
    PolicyStatus status = new PolicyStatus();
    status.setConditions(written);
    return status;
  }

  /** Other controllers' entries, then one of Weft's per Service parent. */
  private List<RouteParentStatus> parents(
      List<RouteParentStatus> existing,
      List<ParentReference> parentRefs,
      List<ConfigCondition> conditions,
      Long generation) {
    List<RouteParentStatus> parents = new ArrayList<>();
    Map<String, Condition> previous = new HashMap<>();
    for (RouteParentStatus parent : existing == null ? List.<RouteParentStatus>of() : existing) {
      if (CONTROLLER_NAME.equals(parent.getControllerName())) {
        for (Condition condition : parent.getConditions()) {
          previous.put(condition.getType(), condition);
        }
      } else {
        parents.add(parent);
      }
    }
    for (ParentReference parentRef : parentRefs) {
      if (!"Service".equals(parentRef.getKind())) {
        continue;
      }
      List<Condition> written = new ArrayList<>();
      for (ConfigCondition condition : conditions) {
        written.add(condition(condition, previous.get(condition.type()), generation));
      }
      parents.add(new RouteParentStatus(written, CONTROLLER_NAME, parentRef));
    }
    return parents;
  }

  /** Keeps the transition time of a condition whose status did not change, as Kubernetes asks. */
  private Condition condition(ConfigCondition condition, Condition previous, Long generation) {
    String status = condition.status() ? "True" : "False";
    String transition =
        previous != null && status.equals(previous.getStatus())
            ? previous.getLastTransitionTime()
            : clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    return new ConditionBuilder()
        .withType(condition.type())
        .withStatus(status)
        .withReason(condition.reason())
        .withMessage(condition.message())
        .withObservedGeneration(generation)
        .withLastTransitionTime(transition)
        .build();
  }
}
