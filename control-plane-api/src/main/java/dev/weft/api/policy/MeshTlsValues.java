package dev.weft.api.policy;

import java.util.List;

/**
 * A valid {@link MeshTLSPolicy} as plain values.
 *
 * @param targets the Services it applies to; empty when it covers its whole namespace
 * @param mode the mode
 */
public record MeshTlsValues(List<PolicyTarget> targets, MutualTlsMode mode) {
  public MeshTlsValues {
    targets = List.copyOf(targets);
  }
}
