package dev.weft.api.policy;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * How the Envoy proxies of a namespace trace requests: the share of requests they sample and the
 * OTLP collector they send spans to ({@code mesh.weft.dev/v1alpha1 Telemetry}, after Istio's
 * Telemetry API, simplified). It covers the workloads of its own namespace; one in the mesh's root
 * namespace (the control plane's, {@code weft.kubernetes.control-plane-namespace}) covers every
 * namespace, and a namespace's own overrides it field by field. Weft stores no traces, and
 * proxyless gRPC workloads set up their own tracer. Validate with {@link
 * PolicyValidator#validate(Telemetry)}.
 */
@Group(TrafficPolicy.GROUP)
@Version(TrafficPolicy.VERSION)
@Kind("Telemetry")
@Plural("telemetries")
@Singular("telemetry")
@ShortNames("wtel")
public final class Telemetry extends CustomResource<TelemetrySpec, PolicyStatus>
    implements Namespaced, MeshPolicy {

  private static final long serialVersionUID = 1L;

  /** A Telemetry names no Services: it is its namespace's. */
  @Override
  public List<PolicyTargetReference> targetRefs() {
    return List.of();
  }

  /** Always: two in one namespace conflict, and the oldest applies. */
  @Override
  public boolean namespaceWide() {
    return true;
  }
}
