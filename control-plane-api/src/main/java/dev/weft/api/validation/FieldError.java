package dev.weft.api.validation;

import java.util.Objects;

/**
 * One reason an object was rejected, anchored at the field that caused it.
 *
 * @param path the field's path in the object as a user wrote it, such as {@code spec.ports[1].name}
 * @param reason what is wrong with it, in words a user can act on
 */
public record FieldError(String path, String reason) {

  public FieldError {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(reason, "reason");
  }

  @Override
  public String toString() {
    return path.isEmpty() ? reason : path + ": " + reason;
  }
}
