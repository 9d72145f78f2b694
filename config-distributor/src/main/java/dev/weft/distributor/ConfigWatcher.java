package dev.weft.distributor;

import dev.weft.registry.ChangeSet;

/** Told when configuration it may hold changes: implemented by each ADS stream. */
interface ConfigWatcher {

  /**
   * A new version; {@code changes} names what changed since the previous one. Must not block: the
   * watcher hands the work to its own executor.
   */
  void configChanged(ConfigVersion version, ChangeSet changes);
}
