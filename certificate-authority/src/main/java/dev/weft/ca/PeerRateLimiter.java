package dev.weft.ca;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A token bucket per peer (remote address) for the CSRs that must be authenticated the expensive
 * way (a TokenReview, or a look-up in the bootstrap tokens): each takes one token; a bucket holds
 * at most {@code burst} and refills at {@code perSecond}.
 *
 * <p>Memory is bounded: at most {@link #MAX_PEERS} buckets, and a bucket is dropped once it has not
 * been used for as long as it takes to refill from empty, when it would be full again anyway; so
 * dropping it changes nothing. Under a flood from more addresses than that, the least recently used
 * buckets go first, and a returning address starts with a full bucket: each address still gets no
 * more than its burst at once.
 *
 * <p>Thread-safety: the buckets are in Caffeine's cache (thread-safe); each bucket is updated under
 * its own lock.
 */
final class PeerRateLimiter {

  /** About 1.5 MB at most (an address, a bucket and Caffeine's bookkeeping per entry). */
  static final int MAX_PEERS = 10_000;

  /** How often a peer that keeps being limited is logged again. */
  private static final long LOG_EVERY_NANOS = Duration.ofMinutes(1).toNanos();

  private static final Logger log = LoggerFactory.getLogger(PeerRateLimiter.class);

  private final double perSecond;
  private final int burst;
  private final Ticker ticker;
  private final Cache<String, Bucket> buckets;

  PeerRateLimiter(double perSecond, int burst, Ticker ticker) {
    if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
      throw new IllegalArgumentException("a rate of " + perSecond + " per second is not positive");
    }
    if (burst < 1) {
      throw new IllegalArgumentException("a burst of " + burst + " is less than 1");
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.ticker = ticker;
    long refillNanos = (long) Math.ceil(burst / perSecond * 1e9);
    this.buckets =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .maximumSize(MAX_PEERS)
            .expireAfterAccess(Duration.ofNanos(Math.max(refillNanos, 1)))
            .build();
  }

  /** The limit in words: {@code 20 per second (burst 40)}. */
  String limit() {
    String rate =
        perSecond == Math.rint(perSecond)
            ? Long.toString((long) perSecond)
            : Double.toString(perSecond);
    return rate + " per second (burst " + burst + ")";
  }

  /** How many buckets are kept now. For tests. */
  long peers() {
    buckets.cleanUp();
    return buckets.estimatedSize();
  }

  /** Takes a token from {@code peer}'s bucket; false when it is empty. */
  boolean tryAcquire(String peer) {
    long now = ticker.read();
    Bucket bucket = buckets.get(peer, unused -> new Bucket(burst, now));
    return bucket.tryAcquire(peer, now);
  }

  private final class Bucket {
    private double tokens;
    private long refilledAt;
    private long loggedAt;
    private boolean logged;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.refilledAt = now;
    }

    synchronized boolean tryAcquire(String peer, long now) {
      long elapsed = Math.max(0, now - refilledAt);
      tokens = Math.min(burst, tokens + elapsed * perSecond / 1e9);
      refilledAt = Math.max(refilledAt, now);
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      if (!logged || now - loggedAt >= LOG_EVERY_NANOS) {
        logged = true;
        loggedAt = now;
        log.warn(
            "{} sends certificate requests without a current certificate faster than {}; refusing"
                + " the excess with RESOURCE_EXHAUSTED",
            peer,
            limit());
      }
      return false;
    }
  }
}
