package dev.weft.registry.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One rule of a route.
 *
 * @param name its {@code name}, which policies may target as a {@code sectionName}
 * @param matches what it matches; never empty: a rule without matches matches every request
 * @param backends where it forwards: only backends it may forward to (in its namespace, with a
 *     port, a weight above zero); empty means it forwards nowhere, and matching requests fail
 * @param requestTimeout {@code timeouts.request}: the whole request; zero disables it
 * @param backendRequestTimeout {@code timeouts.backendRequest}: each attempt
 * @param retry {@code retry}, when it asks for at least one attempt
 * @param requestHeaders the request header modifier filters, merged in order
 * @param mirrors where copies of requests go
 */
public record RouteRule(
    Optional<String> name,
    List<RouteMatch> matches,
    List<WeightedBackend> backends,
    Optional<Duration> requestTimeout,
    Optional<Duration> backendRequestTimeout,
    Optional<Retry> retry,
    HeaderModifier requestHeaders,
    List<Mirror> mirrors) {

  public RouteRule {
    Objects.requireNonNull(name, "name");
    matches = List.copyOf(matches);
    if (matches.isEmpty()) {
      throw new IllegalArgumentException("a rule has at least one match");
    }
    backends = List.copyOf(backends);
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(backendRequestTimeout, "backendRequestTimeout");
    Objects.requireNonNull(retry, "retry");
    Objects.requireNonNull(requestHeaders, "requestHeaders");
    mirrors = List.copyOf(mirrors);
  }

  /** Whether the rule forwards anywhere. */
  public boolean forwards() {
    return !backends.isEmpty();
  }

  /**
   * Retries after the first try.
   *
   * @param attempts how many, at least one
   * @param codes the HTTP statuses to retry on; empty means the usual retriable failures
   * @param backoff the base interval between retries, when set and not zero
   */
  public record Retry(int attempts, List<Integer> codes, Optional<Duration> backoff) {
    public Retry {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be at least 1: " + attempts);
      }
      codes = List.copyOf(codes);
      Objects.requireNonNull(backoff, "backoff");
    }
  }

  /**
   * Request headers to set (replacing a value), add (appending) and remove.
   *
   * @param set headers whose value replaces any the request has
   * @param add headers appended to any the request has
   * @param remove names of headers removed
   */
  public record HeaderModifier(List<Header> set, List<Header> add, List<String> remove) {
    public static final HeaderModifier NONE = new HeaderModifier(List.of(), List.of(), List.of());

    public HeaderModifier {
      set = List.copyOf(set);
      add = List.copyOf(add);
      remove = List.copyOf(remove);
    }
  }

  /** A header and its value. */
  public record Header(String name, String value) {
    public Header {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * Copies of requests sent to another backend, whose answers are ignored.
   *
   * @param backend where the copies go (its weight is meaningless and 1)
   * @param share which share of requests is copied; empty for all
   */
  public record Mirror(WeightedBackend backend, Optional<Fraction> share) {
    public Mirror {
      Objects.requireNonNull(backend, "backend");
      Objects.requireNonNull(share, "share");
    }
  }

  /**
   * A share, as the route wrote it: {@code percent} is a fraction of 100.
   *
   * @param numerator at most {@code denominator}
   * @param denominator above zero
   */
  public record Fraction(int numerator, int denominator) {
    public Fraction {
      if (denominator < 1 || numerator < 0) {
        throw new IllegalArgumentException(
            "a fraction needs numerator >= 0 and denominator >= 1: "
                + numerator
                + "/"
                + denominator);
      }
    }
  }
}
