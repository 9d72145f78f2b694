package dev.weft.distributor;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The responses of one type sent on a stream and not yet answered, oldest first. A proxy may
 * acknowledge an older response after a newer one was sent; that ACK still says which version it
 * applied. Bounded: a proxy that never answers keeps only the newest few.
 *
 * <p>Not thread-safe: owned by one stream, used on its executor.
 */
final class InFlight {

  /** Proxies answer in order; more than a few unanswered responses means it is not answering. */
  private static final int MAX_UNANSWERED = 8;

  /**
   * One sent response, and what the proxy holds of its type once it applies it: {@code holds}, a
   * snapshot the stream never modifies, whose null entries are resources that do not exist.
   */
  static final class Sent {
    private final String nonce;
    private final String version;
    private final long sinceNanos;
    private final boolean sync;
    private final Resource[] holds;

    private Sent(String nonce, String version, long sinceNanos, boolean sync, Resource[] holds) {
      this.nonce = nonce;
      this.version = version;
      this.sinceNanos = sinceNanos;
      this.sync = sync;
      this.holds = holds;
    }

    /**
     * A response built from the configuration published at {@code publishedNanos}, to a proxy whose
     * subscription last changed at {@code subscribedNanos}. When the proxy subscribed after the
     * publication, it was not waiting for that change: its ACK times its own sync (request to ACK),
     * so that a proxy that connects long after the last change does not count as slow convergence.
     */
    static Sent of(
        String nonce, String version, long publishedNanos, long subscribedNanos, Resource[] holds) {
      boolean sync = subscribedNanos - publishedNanos > 0;
      return new Sent(nonce, version, sync ? subscribedNanos : publishedNanos, sync, holds);
    }

    String nonce() {
      return nonce;
    }

    String version() {
      return version;
    }

    /** When what this response answers happened: the change, or the proxy's request. */
    long sinceNanos() {
      return sinceNanos;
    }

    /** Whether it answers the proxy's own request rather than a change it was subscribed to. */
    boolean sync() {
      return sync;
    }

    Resource[] holds() {
      return holds;
    }
  }

  private final ArrayDeque<Sent> sent = new ArrayDeque<>();

  void add(Sent response) {
    if (sent.size() == MAX_UNANSWERED) {
      sent.removeFirst();
    }
    sent.addLast(response);
  }

  /** Removes and returns the response with this nonce, and every older one; null if unknown. */
  Sent answer(String nonce) {
    Iterator<Sent> oldestFirst = sent.iterator();
    while (oldestFirst.hasNext()) {
      if (oldestFirst.next().nonce().equals(nonce)) {
        Sent match = null;
        while (match == null || !match.nonce().equals(nonce)) {
          match = sent.removeFirst();
        }
        return match;
      }
    }
    return null;
  }

  /** The oldest unanswered response, or null. */
  Sent oldest() {
    return sent.peekFirst();
  }

  /** The newest unanswered response, or null. */
  Sent newest() {
    return sent.peekLast();
  }
}
