package dev.weft.cli;

import java.time.Duration;
import java.time.Instant;
import tools.jackson.databind.JsonNode;

/**
 * Whether a proxy holds what Weft sent it, from one entry of {@code GET /debug/proxies}; shared by
 * {@code proxy-status} (per type) and {@code check} (per proxy), so both say the same.
 *
 * <p>A response not answered yet is normal for a moment during a rollout: it is {@code PENDING}
 * until it has waited {@code staleAfter} (the server's {@code weft.xds.stale-after}, 30 s by
 * default), and {@code STALE} after, as the server's {@code weft_xds_proxies_stale} gauge counts
 * it.
 */
final class ProxySync {

  /** What {@code weft.xds.stale-after} defaults to on the server. */
  static final String DEFAULT_STALE_AFTER = "30s";

  private ProxySync() {}

  /** One type's state on one proxy, and since when. */
  record TypeState(String label, Instant since) {

    static final String SYNCED = "SYNCED";
    static final String PENDING = "PENDING";
    static final String STALE = "STALE";
    static final String NACKED = "NACKED";

    /**
     * @param status the type's entry under {@code types}
     * @param connectedSince when the proxy connected: a type subscribed and never answered has
     *     lacked its configuration since then
     */
    static TypeState of(JsonNode status, Instant connectedSince, Instant now, Duration staleAfter) {
      Instant ackedAt = instant(status.path("ackedAt"));
      JsonNode nack = status.path("lastNack");
      Instant nackedAt = nack.isObject() ? instant(nack.path("at")) : null;
      if (nackedAt != null && (ackedAt == null || nackedAt.isAfter(ackedAt))) {
        return new TypeState(NACKED, nackedAt);
      }
      Instant waitingSince;
      if (!status.path("pendingVersion").asString().isEmpty()) {
        Instant pendingSince = instant(status.path("pendingSince"));
        waitingSince = pendingSince != null ? pendingSince : connectedSince;
      } else if (ackedAt != null) {
        return new TypeState(SYNCED, ackedAt);
      } else {
        // Subscribed, nothing answered yet: it lacks what it asked for since it connected.
        waitingSince = connectedSince;
      }
      if (waitingSince == null) {
        return new TypeState(PENDING, now);
      }
      return new TypeState(
          Duration.between(waitingSince, now).compareTo(staleAfter) > 0 ? STALE : PENDING,
          waitingSince);
    }
  }

  /**
   * Whether the proxy has lacked configuration for longer than {@code staleAfter}, from its {@code
   * behindSince} (an unanswered response, a rejected version, or a push its connection cannot
   * take), as the server's gauge decides.
   */
  static boolean stale(JsonNode proxy, Instant now, Duration staleAfter) {
    Instant behind = instant(proxy.path("behindSince"));
    return behind != null && Duration.between(behind, now).compareTo(staleAfter) > 0;
  }

  /** Since when the proxy has lacked configuration; null when it holds everything. */
  static Instant behindSince(JsonNode proxy) {
    return instant(proxy.path("behindSince"));
  }

  /** Whether any type's last answer is a rejection. */
  static boolean nacked(JsonNode proxy, Instant now, Duration staleAfter) {
    Instant connected = instant(proxy.path("connectedSince"));
    for (JsonNode status : proxy.path("types")) {
      if (TypeState.of(status, connected, now, staleAfter).label().equals(TypeState.NACKED)) {
        return true;
      }
    }
    return false;
  }

  /** A timestamp as Jackson writes an Instant: ISO-8601 text, or seconds as a number. */
  static Instant instant(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (node.isNumber()) {
      return Instant.ofEpochSecond(0).plusNanos((long) (node.asDouble() * 1e9));
    }
    return Instant.parse(node.asString());
  }
}
