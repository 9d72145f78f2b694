package dev.weft.api.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * How a proxy spreads requests over a Service's endpoints.
 *
 * @param algorithm the endpoint picker
 * @param ringHash the hash settings; present exactly when {@code algorithm} is {@link
 *     Algorithm#RING_HASH}
 * @param localityFailover whether endpoints in the caller's zone are preferred
 */
public record LoadBalancing(
    Algorithm algorithm, Optional<RingHash> ringHash, LocalityFailover localityFailover) {

  public LoadBalancing {
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(ringHash, "ringHash");
    Objects.requireNonNull(localityFailover, "localityFailover");
    if (ringHash.isPresent() != (algorithm == Algorithm.RING_HASH)) {
      throw new IllegalArgumentException("ringHash goes with the RING_HASH algorithm only");
    }
  }

  /** The endpoint picker. */
  public enum Algorithm {
    ROUND_ROBIN,
    LEAST_REQUEST,
    RING_HASH
  }

  /** Whether endpoints are picked by locality first. */
  public enum LocalityFailover {
    DISABLED,
    /** Endpoints in the caller's zone first; other zones only when those fail. */
    ENABLED
  }

  /**
   * Consistent hashing.
   *
   * @param key what a request is hashed on
   * @param minimumRingSize the least number of ring entries
   */
  public record RingHash(HashKey key, int minimumRingSize) {
    public RingHash {
      Objects.requireNonNull(key, "key");
    }
  }

  /** What a request is hashed on. */
  public sealed interface HashKey permits Header, Cookie, SourceIp {}

  /** The value of request header {@code name}. */
  public record Header(String name) implements HashKey {}

  /** The value of cookie {@code name}. */
  public record Cookie(String name) implements HashKey {}

  /** The caller's IP address. */
  public record SourceIp() implements HashKey {}
}
