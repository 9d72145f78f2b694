package dev.weft.registry;

import java.net.ConnectException;

/** Failures in words, for health details and logs: what went wrong, not the wrappers around it. */
public final class Failures {

  private Failures() {}

  /**
   * The innermost cause's message: {@code Connection refused}, not "Operation: [list] ... failed"
   * around a CompletionException around it. The JDK's HTTP client reports a refused connection as a
   * ConnectException without a message; it reads as the socket's would.
   */
  public static String describe(Throwable failure) {
    Throwable root = failure;
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConnectException) {
        return hasMessage(cause) ? cause.getMessage() : "Connection refused";
      }
      root = cause;
    }
    return hasMessage(root) ? root.getMessage() : root.getClass().getSimpleName();
  }

  private static boolean hasMessage(Throwable failure) {
    return failure.getMessage() != null && !failure.getMessage().isBlank();
  }
}
