package dev.weft.ca;

import dev.weft.api.validation.Validated;
import java.util.Locale;

/**
 * A SPIFFE trust domain: the authority part of every SPIFFE ID this CA issues.
 *
 * @param name the trust domain, as in {@code spiffe://<name>/...}
 */
public record TrustDomain(String name) {

  /** The product default, as in Kubernetes' own cluster domain. */
  public static final TrustDomain DEFAULT = new TrustDomain("cluster.local");

  /** SPIFFE ID spec 2.1: a trust domain name is at most 255 characters. */
  private static final int MAX_LENGTH = 255;

  public TrustDomain {
    String problem = problem(name);
    if (problem != null) {
      throw new IllegalArgumentException("trustDomain: " + problem);
    }
  }

  /**
   * Validates {@code name} per the SPIFFE ID spec: lowercase letters, digits, dots, dashes and
   * underscores only; no scheme, port or user info. Uppercase is refused, not folded, because
   * SPIFFE IDs compare byte for byte and a folded name would not match the certificates of peers.
   */
  public static Validated<TrustDomain> parse(String name) {
    String problem = problem(name);
    return problem == null
        ? Validated.valid(new TrustDomain(name))
        : Validated.invalid("trustDomain", problem);
  }

  /** What is wrong with {@code name}, or null when it is a valid trust domain. */
  private static String problem(String name) {
    if (name == null || name.isEmpty()) {
      return "must not be empty";
    }
    if (name.length() > MAX_LENGTH) {
      return "is longer than " + MAX_LENGTH + " characters";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean allowed =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
      if (!allowed) {
        return String.format(
            Locale.ROOT,
            "'%s' has the character '%c' at %d; only lowercase letters, digits, '.', '-' and"
                + " '_' are allowed",
            name,
            c,
            i);
      }
    }
    return null;
  }

  /** {@code spiffe://<name>}. */
  public String uri() {
    return "spiffe://" + name;
  }

  @Override
  public String toString() {
    return name;
  }
}
