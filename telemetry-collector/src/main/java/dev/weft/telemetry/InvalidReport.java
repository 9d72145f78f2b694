package dev.weft.telemetry;

/**
 * A report the collector refuses whole ({@code INVALID_ARGUMENT}); the message names the field and
 * the reason. An expected outcome of bad input, so it carries no stack trace.
 */
final class InvalidReport extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidReport(String message) {
    super(message, null, false, false);
  }
}
