package dev.weft.registry;

import java.util.Arrays;
import java.util.Optional;

/** The Kubernetes kinds the registry reads, with the API version it reads each at. */
public enum ResourceKind {
  SERVICE("v1", "Service"),
  ENDPOINT_SLICE("discovery.k8s.io/v1", "EndpointSlice"),
  POD("v1", "Pod"),
  HTTP_ROUTE("gateway.networking.k8s.io/v1", "HTTPRoute"),
  GRPC_ROUTE("gateway.networking.k8s.io/v1", "GRPCRoute"),
  TRAFFIC_POLICY("mesh.weft.dev/v1alpha1", "TrafficPolicy"),
  FAULT_POLICY("mesh.weft.dev/v1alpha1", "FaultPolicy"),
  AUTHORIZATION_POLICY("mesh.weft.dev/v1alpha1", "AuthorizationPolicy"),
  MESH_TLS_POLICY("mesh.weft.dev/v1alpha1", "MeshTLSPolicy"),
  RATE_LIMIT_POLICY("mesh.weft.dev/v1alpha1", "RateLimitPolicy"),
  TELEMETRY("mesh.weft.dev/v1alpha1", "Telemetry"),
  GATEWAY("gateway.networking.k8s.io/v1", "Gateway"),
  GATEWAY_CLASS("gateway.networking.k8s.io/v1", "GatewayClass"),
  /** Only those of type {@code kubernetes.io/tls}, which Gateways' HTTPS listeners serve. */
  SECRET("v1", "Secret");

  private final String apiVersion;
  private final String kind;

  ResourceKind(String apiVersion, String kind) {
    this.apiVersion = apiVersion;
    this.kind = kind;
  }

  public String apiVersion() {
    return apiVersion;
  }

  public String kind() {
    return kind;
  }

  /** Whether objects of the kind have no namespace (their key's namespace is empty). */
  public boolean clusterScoped() {
    return this == GATEWAY_CLASS;
  }

  /** Finds the kind for an object's {@code apiVersion} and {@code kind}, if Weft reads it. */
  public static Optional<ResourceKind> of(String apiVersion, String kind) {
    return Arrays.stream(values())
        .filter(k -> k.apiVersion.equals(apiVersion) && k.kind.equals(kind))
        .findFirst();
  }

  /** Lists the supported kinds for error messages: {@code v1/Service, ...}. */
  public static String supported() {
    return String.join(
        ", ", Arrays.stream(values()).map(k -> k.apiVersion + " " + k.kind).toList());
  }
}
