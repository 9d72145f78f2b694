package dev.weft.registry;

import dev.weft.api.validation.FieldError;
import java.util.List;

/**
 * Input the registry refused, and why. The last good version of the object, if any, keeps serving.
 *
 * @param origin where the input came from: a file path, or {@code kubernetes}
 * @param object which object or part of the input: {@code Service default/reviews}, or {@code
 *     document 2 (line 14)} when the object could not be identified
 * @param errors the field errors, each with a path and a reason
 */
public record Rejection(String origin, String object, List<FieldError> errors) {

  public Rejection {
    errors = List.copyOf(errors);
  }

  @Override
  public String toString() {
    return origin + ": " + object + ": " + errors;
  }
}
