package dev.weft.registry.model;

import dev.weft.api.policy.AuthorizationRules;
import dev.weft.api.policy.FaultInjection;
import dev.weft.api.policy.MeshTlsValues;
import dev.weft.api.policy.RateLimitValues;
import dev.weft.api.policy.TelemetryValues;
import dev.weft.api.policy.TrafficPolicyValues;
import java.util.Objects;

/** A Weft policy as validation decoded it: the values translation reads, with defaults applied. */
public sealed interface PolicyValues
    permits PolicyValues.Traffic,
        PolicyValues.Fault,
        PolicyValues.Authorization,
        PolicyValues.MeshTls,
        PolicyValues.RateLimit,
        PolicyValues.Telemetry {

  /** A {@code TrafficPolicy}. */
  record Traffic(TrafficPolicyValues values) implements PolicyValues {
    public Traffic {
      Objects.requireNonNull(values, "values");
    }
  }

  /** A {@code FaultPolicy}. */
  record Fault(FaultInjection values) implements PolicyValues {
    public Fault {
      Objects.requireNonNull(values, "values");
    }
  }

  /** An {@code AuthorizationPolicy}. */
  record Authorization(AuthorizationRules values) implements PolicyValues {
    public Authorization {
      Objects.requireNonNull(values, "values");
    }
  }

  /** A {@code MeshTLSPolicy}. */
  record MeshTls(MeshTlsValues values) implements PolicyValues {
    public MeshTls {
      Objects.requireNonNull(values, "values");
    }
  }

  /** A {@code RateLimitPolicy}. */
  record RateLimit(RateLimitValues values) implements PolicyValues {
    public RateLimit {
      Objects.requireNonNull(values, "values");
    }
  }

  /** A {@code Telemetry}. */
  record Telemetry(TelemetryValues values) implements PolicyValues {
    public Telemetry {
      Objects.requireNonNull(values, "values");
    }
  }
}
