package dev.weft.api.policy;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/** Builds policies for tests from YAML, the way users write them. */
final class Policies {

  private static final String HEADER =
      "apiVersion: mesh.weft.dev/v1alpha1\nkind: %s\nmetadata: {name: p, namespace: shop}\n";
  private static final String TARGET =
      "  targetRefs: [{group: \"\", kind: Service, name: reviews}]\n";

  // The serialization the registry uses; it finds the policy kinds through META-INF/services.
  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Policies() {}

  /** A TrafficPolicy on Service shop/reviews with {@code fragment} (one spec line) added. */
  static TrafficPolicy traffic(String fragment) {
    return trafficSpec(TARGET + "  " + fragment + "\n");
  }

  /** A TrafficPolicy whose whole spec is {@code spec}, indented by two spaces. */
  static TrafficPolicy trafficSpec(String spec) {
    return SERIALIZATION.unmarshal(
        String.format(HEADER, "TrafficPolicy") + "spec:\n" + spec, TrafficPolicy.class);
  }

  /** A FaultPolicy on Service shop/reviews with {@code fragment} (spec lines) added. */
  static FaultPolicy fault(String fragment) {
    return faultSpec(TARGET + "  " + fragment + "\n");
  }

  /** An AuthorizationPolicy on Service shop/reviews with {@code fragment} (spec lines) added. */
  static AuthorizationPolicy authorization(String fragment) {
    return authorizationSpec(TARGET + fragment.indent(2));
  }

  static AuthorizationPolicy authorizationSpec(String spec) {
    return SERIALIZATION.unmarshal(
        String.format(HEADER, "AuthorizationPolicy") + "spec:\n" + spec, AuthorizationPolicy.class);
  }

  static FaultPolicy faultSpec(String spec) {
    return SERIALIZATION.unmarshal(
        String.format(HEADER, "FaultPolicy") + "spec:\n" + spec, FaultPolicy.class);
  }

  /** A RateLimitPolicy on Service shop/reviews with {@code fragment} (spec lines) added. */
  static RateLimitPolicy rateLimit(String fragment) {
    return rateLimitSpec(TARGET + "  " + fragment + "\n");
  }

  static RateLimitPolicy rateLimitSpec(String spec) {
    return SERIALIZATION.unmarshal(
        String.format(HEADER, "RateLimitPolicy") + "spec:\n" + spec, RateLimitPolicy.class);
  }

  /** A Telemetry of namespace shop whose whole spec is {@code spec}, indented by two spaces. */
  static Telemetry telemetrySpec(String spec) {
    return SERIALIZATION.unmarshal(
        String.format(HEADER, "Telemetry") + "spec:\n" + spec, Telemetry.class);
  }
}
