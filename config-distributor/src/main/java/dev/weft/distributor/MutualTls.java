package dev.weft.distributor;

import java.util.Objects;

/**
 * Whether the mesh's workloads talk mutual TLS, and the SPIFFE trust domain their identities are
 * in. With {@link Mode#STRICT}, every client cluster asks for the server's SPIFFE ID and every
 * xDS-enabled server requires a client certificate; both read their certificate and trust bundle
 * from the {@code file_watcher} certificate provider the bootstrap names {@value
 * SecurityTranslator#PROVIDER_INSTANCE}.
 *
 * @param mode off or strict
 * @param trustDomain the SPIFFE trust domain, such as {@code cluster.local}
 */
public record MutualTls(Mode mode, String trustDomain) {

  /** Plaintext between workloads. */
  public static final MutualTls DISABLED = new MutualTls(Mode.DISABLED, "cluster.local");

  /** How workloads talk to each other. */
  public enum Mode {
    /** Plaintext. */
    DISABLED,
    /** Mutual TLS with SPIFFE identities, required on both sides. */
    STRICT
  }

  public MutualTls {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(trustDomain, "trustDomain");
  }

  /** Mutual TLS required, identities in {@code trustDomain}. */
  public static MutualTls strict(String trustDomain) {
    return new MutualTls(Mode.STRICT, trustDomain);
  }

  boolean strict() {
    return mode == Mode.STRICT;
  }
}
