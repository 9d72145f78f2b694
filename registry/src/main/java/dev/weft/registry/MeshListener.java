package dev.weft.registry;

/** Receives snapshots of the mesh as they are published. */
@FunctionalInterface
public interface MeshListener {

  /**
   * Called with the newest snapshot and everything that changed since the previous call. A slow
   * listener never blocks the registry: changes published meanwhile are merged into the next call.
   * The first call names everything in the snapshot. Calls for one listener never overlap.
   */
  void onChange(MeshState state, ChangeSet changes);
}
