package dev.weft.registry;

import dev.weft.api.policy.MeshPolicy;
import dev.weft.api.policy.PolicyConflicts;
import dev.weft.api.policy.PolicyTargetReference;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.validation.FieldError;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The {@code Accepted} and {@code ResolvedRefs} conditions of a route, as the Gateway API defines
 * them for Service parents, and the {@code Accepted} condition of a Weft policy (False with {@code
 * TargetNotFound} when a target Service, or a RateLimitPolicy's port, does not exist, or {@code
 * Conflicted}), computed from a snapshot. Pure functions.
 *
 * <ul>
 *   <li>Accepted: False with reason {@code Invalid} when the latest version was rejected (the last
 *       good one, if any, keeps serving), False with {@code NoMatchingParent} when no parent
 *       Service exists, else True.
 *   <li>ResolvedRefs: False with {@code BackendNotFound} when a backend Service or its port does
 *       not exist, {@code RefNotPermitted} for a backend in another namespace, else True.
 * </ul>
 */
public final class ConfigStatus {

  private ConfigStatus() {}

  /**
   * The conditions of {@code key} in {@code state}; empty when the registry knows nothing of it.
   */
  public static List<ConfigCondition> of(MeshState state, ObjectKey key) {
    Optional<Rejection> rejection = state.rejection(key);
    MeshConfig config = state.config(key).orElse(null);
    List<ConfigCondition> conditions = new ArrayList<>();
    if (rejection.isPresent()) {
      conditions.add(
          new ConfigCondition(
              "Accepted",
              false,
              "Invalid",
              rejection.get().errors().stream()
                      .map(FieldError::toString)
                      .collect(Collectors.joining("; "))
                  + (config == null ? "" : "; the last valid version keeps serving")));
    }
    if (config == null) {
      return conditions;
    }
    if (config.resource() instanceof MeshPolicy policy) {
      if (rejection.isEmpty()) {
        conditions.add(policyAccepted(state, policy));
      }
      return conditions;
    }
    if (rejection.isEmpty()) {
      List<String> missing =
          Attachment.servicesOf(config).stream()
              .filter(service -> state.service(service).isEmpty())
              .map(ServiceKey::toString)
              .toList();
      conditions.add(
          missing.isEmpty()
              ? new ConfigCondition("Accepted", true, "Accepted", "attached to its parent Services")
              : new ConfigCondition(
                  "Accepted", false, "NoMatchingParent", "no such Service: " + missing));
    }
    conditions.add(resolvedRefs(state, config.resource()));
    return conditions;
  }

  /**
   * A policy is accepted when its target Services exist and no older policy of its kind holds any
   * of its targets (GEP-713 conflict resolution).
   */
  private static ConfigCondition policyAccepted(MeshState state, MeshPolicy policy) {
    Set<ServiceKey> targets = Attachment.targetsOf(policy);
    List<String> missing =
        targets.stream()
            .filter(service -> !service.isNamespaceWide() && state.service(service).isEmpty())
            .map(ServiceKey::toString)
            .toList();
    if (!missing.isEmpty()) {
      return new ConfigCondition(
          "Accepted", false, "TargetNotFound", "no such Service: " + missing);
    }
    List<String> missingPorts = missingPorts(state, policy);
    if (!missingPorts.isEmpty()) {
      return new ConfigCondition(
          "Accepted", false, "TargetNotFound", "no such Service port: " + missingPorts);
    }
    List<MeshPolicy> neighbours = new ArrayList<>();
    for (ServiceKey target : targets) {
      for (MeshConfig attached : state.attachments(target).configs()) {
        if (attached.resource() instanceof MeshPolicy other && !neighbours.contains(other)) {
          neighbours.add(other);
        }
      }
    }
    List<String> conflicts = new ArrayList<>();
    for (PolicyConflicts.Resolution<MeshPolicy> resolution : PolicyConflicts.resolve(neighbours)) {
      for (PolicyConflicts.Conflict<MeshPolicy> conflict : resolution.conflicted()) {
        if (conflict.policy() == policy) {
          conflicts.add(conflict.reason());
        }
      }
    }
    if (!conflicts.isEmpty()) {
      return new ConfigCondition("Accepted", false, "Conflicted", String.join("; ", conflicts));
    }
    return new ConfigCondition(
        "Accepted",
        true,
        "Accepted",
        policy instanceof RateLimitPolicy
            ? RATE_LIMIT_ACCEPTED
            : policy instanceof Telemetry ? TELEMETRY_ACCEPTED : "applies to its targets");
  }

  /**
   * Where a rate limit is enforced, said where its user looks: only Envoy sidecars have a local
   * rate limit filter, and they limit requests, not TCP connections.
   */
  public static final String RATE_LIMIT_ACCEPTED =
      "applies to its targets: the Envoy sidecar of each of their Pods limits the requests of its"
          + " HTTP and gRPC ports (not TCP ports; proxyless gRPC servers have no rate limiting)";

  /**
   * Where tracing settings take effect, said where their user looks: Envoy gets a tracer, and
   * proxyless gRPC has no xDS field for one.
   */
  public static final String TELEMETRY_ACCEPTED =
      "applies to the Envoy sidecars and gateways of its namespace (in the mesh's root namespace:"
          + " of every namespace without a Telemetry of its own, for the fields that one leaves"
          + " out); proxyless gRPC workloads set up their own tracer (docs/telemetry.md)";

  /**
   * The ports a RateLimitPolicy's {@code sectionName}s name that its Services do not have ({@code
   * namespace/service:port}): a misspelt port would otherwise limit nothing without a word. Other
   * kinds' sections are route rules, which are not checked.
   */
  private static List<String> missingPorts(MeshState state, MeshPolicy policy) {
    if (!(policy instanceof RateLimitPolicy)) {
      return List.of();
    }
    List<String> missing = new ArrayList<>();
    for (PolicyTargetReference ref : policy.targetRefs()) {
      String port = ref.getSectionName();
      if (port == null) {
        continue;
      }
      ServiceKey service = new ServiceKey(policy.getMetadata().getNamespace(), ref.getName());
      boolean found =
          state
              .service(service)
              .map(s -> s.ports().stream().anyMatch(p -> p.name().equals(port)))
              .orElse(false);
      if (!found) {
        missing.add(service + ":" + port);
      }
    }
    return missing;
  }

  /**
   * {@code Programmed}: whether the configuration proxies are sent has caught up with the accepted
   * version of {@code key}, that is, {@code published} (the snapshot the newest pushed
   * configuration was built from) holds the very version {@code current} holds.
   */
  @SuppressWarnings("ReferenceEquality") // snapshots share unchanged configs by reference
  public static ConfigCondition programmed(
      MeshState current, Optional<MeshState> published, ObjectKey key) {
    MeshConfig accepted = current.config(key).orElse(null);
    MeshConfig pushed = published.flatMap(state -> state.config(key)).orElse(null);
    if (accepted == null) {
      return new ConfigCondition("Programmed", false, "Invalid", "no valid version to program");
    }
    return accepted == pushed
        ? new ConfigCondition("Programmed", true, "Programmed", "sent to the proxies it concerns")
        : new ConfigCondition("Programmed", false, "Pending", "not yet sent to proxies");
  }

  private static ConfigCondition resolvedRefs(MeshState state, HasMetadata resource) {
    String namespace = resource.getMetadata().getNamespace();
    List<String> notFound = new ArrayList<>();
    List<String> notPermitted = new ArrayList<>();
    for (Backend backend : backendsOf(resource)) {
      if (backend.namespace() != null && !backend.namespace().equals(namespace)) {
        notPermitted.add(backend.namespace() + "/" + backend.name());
        continue;
      }
      ServiceKey service = new ServiceKey(namespace, backend.name());
      boolean found =
          state
              .service(service)
              .map(s -> backend.port() == null || s.port(backend.port()).isPresent())
              .orElse(false);
      if (!found) {
        notFound.add(service + (backend.port() == null ? "" : ":" + backend.port()));
      }
    }
    if (!notPermitted.isEmpty()) {
      return new ConfigCondition(
          "ResolvedRefs",
          false,
          "RefNotPermitted",
          "backends in other namespaces need a ReferenceGrant, which Weft does not support yet: "
              + notPermitted);
    }
    if (!notFound.isEmpty()) {
      return new ConfigCondition(
          "ResolvedRefs",
          false,
          "BackendNotFound",
          "no such Service or port: " + notFound + "; requests for them fail");
    }
    return new ConfigCondition("ResolvedRefs", true, "ResolvedRefs", "all backends exist");
  }

  private record Backend(String namespace, String name, Integer port) {}

  private static List<Backend> backendsOf(HasMetadata resource) {
    List<Backend> backends = new ArrayList<>();
    if (resource instanceof HTTPRoute route && route.getSpec().getRules() != null) {
      for (HTTPRouteRule rule : route.getSpec().getRules()) {
        for (HTTPBackendRef ref : nullToEmpty(rule.getBackendRefs())) {
          backends.add(new Backend(ref.getNamespace(), ref.getName(), ref.getPort()));
        }
      }
    } else if (resource instanceof GRPCRoute route && route.getSpec().getRules() != null) {
      for (GRPCRouteRule rule : route.getSpec().getRules()) {
        for (GRPCBackendRef ref : nullToEmpty(rule.getBackendRefs())) {
          backends.add(new Backend(ref.getNamespace(), ref.getName(), ref.getPort()));
        }
      }
    }
    return backends;
  }

  private static <T> List<T> nullToEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
