package dev.weft.cli;

import java.time.Duration;
import picocli.CommandLine;

/**
 * Reads a duration as kubectl writes one: {@code 30s}, {@code 2m}, {@code 1h}, {@code 500ms}, and
 * days ({@code 30d}) for certificate lifetimes.
 */
final class Durations implements CommandLine.ITypeConverter<Duration> {

  @Override
  public Duration convert(String value) {
    String text = value.strip();
    try {
      if (text.endsWith("ms")) {
        return positive(Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2))));
      }
      if (text.endsWith("s")) {
        return positive(Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1))));
      }
      if (text.endsWith("m")) {
        return positive(Duration.ofMinutes(Long.parseLong(text.substring(0, text.length() - 1))));
      }
      if (text.endsWith("h")) {
        return positive(Duration.ofHours(Long.parseLong(text.substring(0, text.length() - 1))));
      }
      if (text.endsWith("d")) {
        return positive(Duration.ofDays(Long.parseLong(text.substring(0, text.length() - 1))));
      }
    } catch (NumberFormatException e) {
      // falls through to the refusal below
    }
    throw new CommandLine.TypeConversionException(
        "\"" + value + "\" is not a duration such as 30s, 2m, 1h, 30d or 500ms");
  }

  private static Duration positive(Duration duration) {
    if (duration.isNegative() || duration.isZero()) {
      throw new CommandLine.TypeConversionException("a duration must be more than zero");
    }
    return duration;
  }

  /** How long ago, as kubectl prints ages: {@code 45s}, {@code 3m12s}, {@code 2h5m}, {@code 4d}. */
  static String age(Duration duration) {
    long seconds = Math.max(0, duration.getSeconds());
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return seconds / 60 + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s");
    }
    if (seconds < 86_400) {
      return seconds / 3600 + "h" + (seconds % 3600 / 60 == 0 ? "" : seconds % 3600 / 60 + "m");
    }
    return seconds / 86_400 + "d";
  }
}
