package dev.weft.controller;

/**
 * A setting Weft cannot start with: which property, what is wrong, and what to do. Spring Boot
 * reports it through {@link InvalidSettingFailureAnalyzer} as a short description and action, not
 * as a stack trace.
 */
final class InvalidSettingException extends RuntimeException {

  private final String property;
  private final String action;

  InvalidSettingException(String property, String problem, String action, Throwable cause) {
    super(property + ": " + problem, cause);
    this.property = property;
    this.action = action;
  }

  String property() {
    return property;
  }

  String action() {
    return action;
  }
}
