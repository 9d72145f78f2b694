package dev.weft.distributor;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;

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

  /** One sent response. */
  record Sent(String nonce, String version, long publishedNanos, List<Resource> resources) {}

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

  /** The newest unanswered response, or null. */
  Sent newest() {
    return sent.peekLast();
  }
}
