package dev.weft.ca;

/**
 * What the CA reports, as events; the application binds them to Micrometer. Called on the issuing
 * thread, so implementations must be thread-safe and cheap (increment a counter).
 */
public interface CaMetrics {

  /** Reports nothing. */
  CaMetrics NONE = new CaMetrics() {};

  /** A certificate was issued to {@code identity}; validating the CSR and signing took so long. */
  default void issued(WorkloadIdentity identity, long signingNanos) {}

  /** A request was refused, and nothing issued. */
  default void refused(RefusalReason reason) {}

  /**
   * After each rotation check: how long until {@code authority} expires. Reported for every root in
   * the trust bundle and for a plugged-in intermediate.
   */
  default void authorityExpiry(AuthorityInfo authority, long secondsToExpiry) {}
}
