package dev.weft.ca;

import java.util.Objects;
import java.util.Optional;

/**
 * Who a caller proved to be: a Kubernetes namespace and service account (in standalone mode, the
 * pair a bootstrap token maps to). Its SPIFFE ID is {@code spiffe://<td>/ns/<ns>/sa/<sa>}.
 *
 * @param namespace the namespace
 * @param serviceAccount the service account
 */
public record WorkloadIdentity(String namespace, String serviceAccount) {

  public WorkloadIdentity {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(serviceAccount, "serviceAccount");
    checkSegment("namespace", namespace);
    checkSegment("serviceAccount", serviceAccount);
  }

  /** The SPIFFE ID of this identity in {@code trustDomain}. */
  public String spiffeId(TrustDomain trustDomain) {
    return trustDomain.uri() + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  /**
   * The identity a SPIFFE ID of the form {@code spiffe://<td>/ns/<ns>/sa/<sa>} names, or empty when
   * it is of another trust domain or another shape.
   */
  public static Optional<WorkloadIdentity> fromSpiffeId(TrustDomain trustDomain, String id) {
    String prefix = trustDomain.uri() + "/ns/";
    if (id == null || !id.startsWith(prefix)) {
      return Optional.empty();
    }
    String[] rest = id.substring(prefix.length()).split("/", -1);
    if (rest.length != 3 || !rest[1].equals("sa")) {
      return Optional.empty();
    }
    try {
      return Optional.of(new WorkloadIdentity(rest[0], rest[2]));
    } catch (IllegalArgumentException notASegment) {
      return Optional.empty();
    }
  }

  /**
   * SPIFFE ID spec 2.2: a path segment is non-empty, not "." or "..", and made of letters, digits,
   * '.', '-' and '_'. Kubernetes names are a subset, so a real identity always passes.
   */
  private static void checkSegment(String field, String value) {
    if (value.isEmpty() || value.equals(".") || value.equals("..")) {
      throw new IllegalArgumentException(field + ": '" + value + "' is not a SPIFFE path segment");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean allowed =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '-'
              || c == '_';
      if (!allowed) {
        throw new IllegalArgumentException(
            field + ": '" + value + "' has a character a SPIFFE ID path may not hold: " + c);
      }
    }
  }

  @Override
  public String toString() {
    return namespace + "/" + serviceAccount;
  }
}
