package dev.weft.registry;

import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The way into the registry for one source of Kubernetes objects. Objects are decoded and validated
 * here, on the caller's thread, then handed to the registry's writer without blocking.
 *
 * <p>An invalid object is recorded as a rejection under this source's name and changes nothing
 * else: its last good version, if any, keeps serving. Thread-safe.
 */
public final class RegistrySource {

  private final String name;
  private final MeshRegistry registry;
  private final ResourceDecoder decoder;

  RegistrySource(String name, MeshRegistry registry, ResourceDecoder decoder) {
    this.name = name;
    this.registry = registry;
    this.decoder = decoder;
  }

  /** The source's name, used as the origin of its rejections. */
  public String name() {
    return name;
  }

  /** Adds or replaces an object. Kinds the registry does not read are ignored. */
  public void upsert(HasMetadata object) {
    Optional<ObjectKey> key = ResourceDecoder.keyOf(object);
    if (key.isEmpty()) {
      return;
    }
    List<Mutation> batch = new ArrayList<>(2);
    addUpsert(batch, name, key.get(), object);
    registry.submit(batch);
  }

  /** Removes an object, and any rejection recorded for it. */
  public void delete(HasMetadata object) {
    ResourceDecoder.keyOf(object).ifPresent(this::delete);
  }

  /** Removes the object with this key, and any rejection recorded for it. */
  public void delete(ObjectKey key) {
    registry.submit(List.of(new Mutation.Delete(key), new Mutation.ClearRejection(name, key)));
  }

  /**
   * Says that everything the source held at start has been handed over; the registry reports synced
   * once every source has said so and the writer has applied it all.
   */
  public void markSynced() {
    registry.submit(List.of(new Mutation.MarkSynced(name)));
  }

  /** Hands a batch to the writer, which applies it whole and publishes it in one snapshot. */
  void submit(List<Mutation> batch) {
    registry.submit(batch);
  }

  /**
   * Decodes {@code object} and appends what stores it to {@code batch}: the value and the clearing
   * of an earlier rejection, or the rejection, under {@code origin}.
   */
  void addUpsert(List<Mutation> batch, String origin, ObjectKey key, HasMetadata object) {
    Validated<Mutation> decoded = decoder.decode(key, object);
    if (decoded instanceof Validated.Valid<Mutation> valid) {
      batch.add(valid.value());
      batch.add(new Mutation.ClearRejection(origin, key));
    } else {
      batch.add(new Mutation.Reject(new Rejection(origin, key.toString(), decoded.errors())));
    }
  }
}
