package dev.weft.distributor;

import dev.weft.api.policy.MutualTlsMode;
import java.util.Objects;

/**
 * The mesh's default for mutual TLS between workloads, and the SPIFFE trust domain their identities
 * are in. MeshTLSPolicies override the default per namespace and per Service ({@link TlsModes}).
 * Where the mode is STRICT, a client's cluster asks for the server's SPIFFE ID and an xDS-enabled
 * server requires a client certificate; both read their certificate and trust bundle from the
 * {@code file_watcher} certificate provider the bootstrap names {@value
 * SecurityTranslator#PROVIDER_INSTANCE}.
 *
 * @param defaultMode the mode of Services no MeshTLSPolicy covers
 * @param trustDomain the SPIFFE trust domain, such as {@code cluster.local}
 */
public record MutualTls(MutualTlsMode defaultMode, String trustDomain) {

  /** Plaintext between workloads unless a MeshTLSPolicy says otherwise. */
  public static final MutualTls DISABLED = new MutualTls(MutualTlsMode.DISABLE, "cluster.local");

  public MutualTls {
    Objects.requireNonNull(defaultMode, "defaultMode");
    Objects.requireNonNull(trustDomain, "trustDomain");
  }

  /**
   * Mutual TLS required unless a MeshTLSPolicy says otherwise, identities in {@code trustDomain}.
   */
  public static MutualTls strict(String trustDomain) {
    return new MutualTls(MutualTlsMode.STRICT, trustDomain);
  }
}
