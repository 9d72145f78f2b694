package dev.weft.api.validation;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The outcome of validating input: a value, or the field errors that stopped it. Expected
 * validation failures are values of this type across Weft, never exceptions.
 *
 * @param <T> the type of the validated value
 */
public sealed interface Validated<T> permits Validated.Valid, Validated.Invalid {

  static <T> Validated<T> valid(T value) {
    return new Valid<>(value);
  }

  static <T> Validated<T> invalid(List<FieldError> errors) {
    return new Invalid<>(errors);
  }

  static <T> Validated<T> invalid(String path, String reason) {
    return new Invalid<>(List.of(new FieldError(path, reason)));
  }

  /** Returns the errors, empty when valid. */
  List<FieldError> errors();

  default boolean isValid() {
    return this instanceof Valid;
  }

  /** Applies {@code mapper} to a valid value; passes errors through unchanged. */
  <R> Validated<R> map(Function<? super T, ? extends R> mapper);

  /** A value that passed validation. */
  record Valid<T>(T value) implements Validated<T> {
    public Valid {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public List<FieldError> errors() {
      return List.of();
    }

    @Override
    public <R> Validated<R> map(Function<? super T, ? extends R> mapper) {
      return new Valid<>(mapper.apply(value));
    }
  }

  /** Input that failed validation, with at least one reason. */
  record Invalid<T>(List<FieldError> errors) implements Validated<T> {
    public Invalid {
      errors = List.copyOf(errors);
      if (errors.isEmpty()) {
        throw new IllegalArgumentException("an invalid result needs at least one error");
      }
    }

    @Override
    public <R> Validated<R> map(Function<? super T, ? extends R> mapper) {
      return new Invalid<>(errors);
    }
  }
}
