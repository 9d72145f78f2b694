package dev.weft.distributor;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The open ADS streams, by id. Thread-safe: a concurrent map of streams that publish snapshots. */
final class ProxyTable {

  private final ConcurrentHashMap<String, AdsStream> streams = new ConcurrentHashMap<>();

  void add(AdsStream stream) {
    streams.put(stream.id(), stream);
  }

  void remove(AdsStream stream) {
    streams.remove(stream.id(), stream);
  }

  int size() {
    return streams.size();
  }

  List<ProxyStatus> statuses() {
    return streams.values().stream()
        .map(AdsStream::status)
        .sorted(Comparator.comparing(ProxyStatus::nodeId).thenComparing(ProxyStatus::stream))
        .toList();
  }

  /** The stream of a proxy, by stream id or node id (the newest stream of that node). */
  Optional<AdsStream> find(String proxy) {
    AdsStream byId = streams.get(proxy);
    if (byId != null) {
      return Optional.of(byId);
    }
    Collection<AdsStream> all = streams.values();
    return all.stream()
        .filter(s -> s.nodeId().equals(proxy))
        .max(Comparator.comparing(AdsStream::connectedSince));
  }

  Collection<AdsStream> all() {
    return streams.values();
  }
}
