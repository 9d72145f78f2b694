package dev.weft.cli;

/**
 * A failure the user can act on: its message is the one line the CLI prints (what was wrong, what
 * to do), without a stack trace.
 */
final class CliException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  CliException(String message) {
    super(message);
  }
}
