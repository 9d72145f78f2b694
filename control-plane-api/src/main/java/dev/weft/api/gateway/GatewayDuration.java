package dev.weft.api.gateway;

import dev.weft.api.validation.Validated;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the Gateway API duration format (GEP-2257): one to four {@code <number><unit>} parts, each
 * number up to five digits, units {@code h}, {@code m}, {@code s}, {@code ms}; for example {@code
 * 1h30m} or {@code 250ms}. {@code 0s} means "no timeout" where the API says so.
 */
public final class GatewayDuration {

  private static final Pattern FORMAT = Pattern.compile("^([0-9]{1,5}(h|m|s|ms)){1,4}$");
  private static final Pattern PART = Pattern.compile("([0-9]{1,5})(h|ms|m|s)");

  private GatewayDuration() {}

  /** Parses {@code text}; an invalid value names {@code path} and shows the expected format. */
  public static Validated<Duration> parse(String path, String text) {
    if (text == null || !FORMAT.matcher(text).matches()) {
      return Validated.invalid(
          path, "\"" + text + "\" is not a Gateway API duration (such as 500ms, 10s, 1m30s, 1h)");
    }
    Duration total = Duration.ZERO;
    Matcher part = PART.matcher(text);
    while (part.find()) {
      long amount = Long.parseLong(part.group(1));
      total =
          switch (part.group(2)) {
            case "h" -> total.plusHours(amount);
            case "m" -> total.plusMinutes(amount);
            case "s" -> total.plusSeconds(amount);
            default -> total.plusMillis(amount);
          };
    }
    return Validated.valid(total);
  }
}
