package dev.weft.api.validation;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Collects field errors while a validator walks an object, so that one pass reports every problem
 * rather than the first. Not thread-safe: one validation, one collector.
 */
public final class FieldErrors {

  private final List<FieldError> errors = new ArrayList<>();

  public void add(String path, String reason) {
    errors.add(new FieldError(path, reason));
  }

  public void addAll(List<FieldError> more) {
    errors.addAll(more);
  }

  /**
   * Records {@code path: required} when {@code value} is null, which is how an empty list item
   * reads ({@code -} with nothing after it in YAML, or {@code [null]}); returns whether there is a
   * value to check further.
   */
  public boolean checkPresent(String path, Object value) {
    if (value == null) {
      add(path, "required");
      return false;
    }
    return true;
  }

  public boolean isEmpty() {
    return errors.isEmpty();
  }

  public List<FieldError> toList() {
    return List.copyOf(errors);
  }

  /** Returns the collected errors, or the value built by {@code onSuccess} when there are none. */
  public <T> Validated<T> toResult(Supplier<T> onSuccess) {
    return errors.isEmpty() ? Validated.valid(onSuccess.get()) : Validated.invalid(errors);
  }

  /** Formats the path of element {@code index} of the list at {@code path}: {@code a.b[2]}. */
  public static String indexed(String path, int index) {
    return path + "[" + index + "]";
  }
}
