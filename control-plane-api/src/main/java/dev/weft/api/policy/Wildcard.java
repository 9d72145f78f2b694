package dev.weft.api.policy;

import java.util.Objects;

/**
 * A pattern with at most one {@code *}, at the start or at the end, as Istio's authorization fields
 * have: {@code checkout} (exact), {@code /weft.demo.Greeter/*} (prefix), {@code *-canary} (suffix),
 * or {@code *} (anything).
 *
 * @param kind how {@code text} matches
 * @param text the literal part; empty for {@link Kind#ANY}
 */
public record Wildcard(Kind kind, String text) {

  /** How a wildcard matches. */
  public enum Kind {
    EXACT,
    PREFIX,
    SUFFIX,
    ANY
  }

  public Wildcard {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(text, "text");
  }

  /** Parses {@code pattern}; null when it has a {@code *} elsewhere than at one end. */
  static Wildcard parse(String pattern) {
    if (pattern.equals("*")) {
      return new Wildcard(Kind.ANY, "");
    }
    int star = pattern.indexOf('*');
    if (star < 0) {
      return new Wildcard(Kind.EXACT, pattern);
    }
    if (star != pattern.lastIndexOf('*')) {
      return null;
    }
    if (star == pattern.length() - 1) {
      return new Wildcard(Kind.PREFIX, pattern.substring(0, star));
    }
    return star == 0 ? new Wildcard(Kind.SUFFIX, pattern.substring(1)) : null;
  }

  /** Whether {@code value} matches. */
  public boolean matches(String value) {
    return switch (kind) {
      case EXACT -> value.equals(text);
      case PREFIX -> value.startsWith(text);
      case SUFFIX -> value.endsWith(text);
      case ANY -> true;
    };
  }

  @Override
  public String toString() {
    return switch (kind) {
      case EXACT -> text;
      case PREFIX -> text + "*";
      case SUFFIX -> "*" + text;
      case ANY -> "*";
    };
  }
}
