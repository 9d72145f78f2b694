package dev.weft.telemetry;

import java.util.Objects;

/**
 * A service of the mesh that calls went to, as the application's {@link DestinationResolver} knows
 * it.
 *
 * @param service the service's host name as users know it, for example {@code
 *     greeter.default.svc.cluster.local} (the {@code destination_service} label)
 * @param version the backend version the calls reached, or {@code "unknown"} when the report does
 *     not tell which backend served them
 * @param security whether the mesh's configuration makes calls to this service mutual TLS
 */
public record Destination(String service, String version, ConnectionSecurity security) {

  public static final String UNKNOWN_VERSION = "unknown";

  public Destination {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(security, "security");
  }

  /** The {@code connection_security_policy} label, in Istio's values. */
  public enum ConnectionSecurity {
    MUTUAL_TLS("mutual_tls"),
    NONE("none"),
    UNKNOWN("unknown");

    private final String label;

    ConnectionSecurity(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }
}
