package dev.weft.distributor;

import dev.weft.api.policy.MutualTlsMode;
import dev.weft.api.policy.PolicyTarget;
import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceAttachments;
import dev.weft.registry.ServiceKey;
import java.util.Optional;

/**
 * Which mutual TLS mode applies to a Service: the MeshTLSPolicy on the Service, else the one on its
 * namespace, else the mesh's default. Between two policies on the same target the oldest wins
 * (GEP-713), as the policies' status says. Pure functions.
 */
final class TlsModes {

  private TlsModes() {}

  /** The mode of {@code service} in {@code state}. */
  static MutualTlsMode of(MeshState state, ServiceKey service, MutualTlsMode meshDefault) {
    return modeIn(
            state.attachments(service),
            new PolicyTarget(service.namespace(), service.name(), Optional.empty()))
        .or(() -> ofNamespace(state, service.namespace()))
        .orElse(meshDefault);
  }

  /** The mode a namespace's MeshTLSPolicy sets for its Services, if it has one. */
  static Optional<MutualTlsMode> ofNamespace(MeshState state, String namespace) {
    return modeIn(state.namespaceAttachments(namespace), PolicyTarget.wholeNamespace(namespace));
  }

  /** The mode of the MeshTLSPolicy that applies to {@code target} among {@code attachments}. */
  private static Optional<MutualTlsMode> modeIn(
      ServiceAttachments attachments, PolicyTarget target) {
    return attachments.policies().mutualTls(target);
  }
}
