package dev.weft.ca;

import java.time.Instant;

/**
 * A signing certificate of the CA as operators see it: which, in what role, until when.
 *
 * @param subject the certificate's subject
 * @param kind a self-signed root or a plugged-in intermediate
 * @param status PENDING (in the bundle, not signing yet), ACTIVE (signing) or RETIRING (leaving)
 * @param notAfter its expiry
 */
public record AuthorityInfo(String subject, Kind kind, String status, Instant notAfter) {

  /** Root or intermediate. */
  public enum Kind {
    ROOT,
    INTERMEDIATE
  }
}
