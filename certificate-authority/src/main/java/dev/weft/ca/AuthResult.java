package dev.weft.ca;

import java.util.Objects;

/** The outcome of authenticating a caller. */
public sealed interface AuthResult {

  /** The credential proved this identity. */
  record Authenticated(WorkloadIdentity identity) implements AuthResult {
    public Authenticated {
      Objects.requireNonNull(identity, "identity");
    }
  }

  /** The caller presented no credential of the kind this authenticator checks. */
  record NotPresented() implements AuthResult {}

  /**
   * A credential was presented and refused.
   *
   * @param field what was refused: {@code token} or {@code certificate}
   * @param reason why, in words the caller can act on
   */
  record Refused(String field, String reason) implements AuthResult {}

  /**
   * The credential could not be checked now (the API server is unreachable): not a refusal, the
   * caller should retry.
   */
  record Unavailable(String reason) implements AuthResult {}

  static AuthResult notPresented() {
    return new NotPresented();
  }
}
