package dev.weft.api.policy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;

/** A Weft policy resource: something that attaches to Services through {@code targetRefs}. */
public sealed interface MeshPolicy extends HasMetadata permits TrafficPolicy, FaultPolicy {

  /** The policy's {@code spec.targetRefs}; empty when the spec or the list is missing. */
  List<PolicyTargetReference> targetRefs();
}
