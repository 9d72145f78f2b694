package dev.weft.registry;

import dev.weft.api.policy.TelemetryValues;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * One immutable, versioned snapshot of the mesh: services, their endpoints, validated config, and
 * the input that was rejected. Readers never lock; a newer snapshot shares all unchanged structure
 * with this one, so publishing costs what changed, not the size of the mesh.
 */
public final class MeshState {

  static final MeshState EMPTY =
      new MeshState(
          0,
          false,
          PersistentMap.empty(),
          PersistentMap.empty(),
          PersistentMap.empty(),
          PersistentMap.empty(),
          PersistentMap.empty());

  private final long version;
  private final boolean synced;
  private final PersistentMap<ServiceKey, MeshService> services;
  private final PersistentMap<ServiceKey, ServiceEndpoints> endpoints;
  private final PersistentMap<ObjectKey, MeshConfig> configs;
  private final PersistentMap<ServiceKey, ServiceAttachments> attachments;
  private final PersistentMap<StateWriter.RejectionKey, Rejection> rejections;

  MeshState(
      long version,
      boolean synced,
      PersistentMap<ServiceKey, MeshService> services,
      PersistentMap<ServiceKey, ServiceEndpoints> endpoints,
      PersistentMap<ObjectKey, MeshConfig> configs,
      PersistentMap<ServiceKey, ServiceAttachments> attachments,
      PersistentMap<StateWriter.RejectionKey, Rejection> rejections) {
    this.version = version;
    this.synced = synced;
    this.services = services;
    this.endpoints = endpoints;
    this.configs = configs;
    this.attachments = attachments;
    this.rejections = rejections;
  }

  /** Increases by one with every published snapshot; 0 before the first. */
  public long version() {
    return version;
  }

  /**
   * Whether every source had delivered its initial state when this snapshot was published. Until
   * then a snapshot may hold only part of the mesh, and nothing should act on what it lacks.
   */
  public boolean synced() {
    return synced;
  }

  /** The Services, keyed by namespace and name. Unordered; the map is immutable. */
  public Map<ServiceKey, MeshService> services() {
    return services;
  }

  public Optional<MeshService> service(ServiceKey key) {
    return Optional.ofNullable(services.get(key));
  }

  /**
   * The endpoints of every Service that has EndpointSlices, keyed by Service. A slice may arrive
   * before its Service, so a key here need not be in {@link #services()}.
   */
  public Map<ServiceKey, ServiceEndpoints> endpoints() {
    return endpoints;
  }

  /** The endpoints of one Service; empty when it has none. */
  public ServiceEndpoints endpoints(ServiceKey key) {
    return endpoints.getOrDefault(key, ServiceEndpoints.EMPTY);
  }

  /** Validated routes and policies, keyed by kind, namespace and name. */
  public Map<ObjectKey, MeshConfig> configs() {
    return configs;
  }

  public Optional<MeshConfig> config(ObjectKey key) {
    return Optional.ofNullable(configs.get(key));
  }

  /**
   * The routes (and policies) attached to a Service; {@link ServiceAttachments#NONE} when there are
   * none. The same instance as in the previous snapshot unless something attached to it changed.
   */
  public ServiceAttachments attachments(ServiceKey service) {
    return attachments.getOrDefault(service, ServiceAttachments.NONE);
  }

  /** What attaches to every Service of {@code namespace}, such as a namespace's MeshTLSPolicy. */
  public ServiceAttachments namespaceAttachments(String namespace) {
    return attachments(ServiceKey.namespaceWide(namespace));
  }

  /**
   * The tracing the proxies of {@code namespace} apply: its Telemetry's settings, each field it
   * leaves out taken from the Telemetry of {@code rootNamespace} (the mesh's, which covers every
   * namespace); empty when neither names a collector.
   */
  public Optional<TelemetryValues.Tracing> tracing(String namespace, String rootNamespace) {
    return TelemetryValues.resolve(
        namespaceAttachments(namespace).policies().telemetry(namespace),
        namespaceAttachments(rootNamespace).policies().telemetry(rootNamespace));
  }

  /** Input that was rejected, with the reasons; the last good version of each object stays. */
  public Collection<Rejection> rejections() {
    return rejections.values();
  }

  /** The rejection of the latest version of {@code key}, if it was rejected. */
  public Optional<Rejection> rejection(ObjectKey key) {
    String object = key.toString();
    // Rejections are few (each is a mistake someone will fix), so a scan is cheap.
    return rejections.values().stream().filter(r -> r.object().equals(object)).findFirst();
  }

  @Override
  public String toString() {
    return "MeshState{version="
        + version
        + ", synced="
        + synced
        + ", services="
        + services.size()
        + ", endpointServices="
        + endpoints.size()
        + ", configs="
        + configs.size()
        + ", rejections="
        + rejections.size()
        + "}";
  }
}
