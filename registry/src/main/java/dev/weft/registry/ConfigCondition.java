package dev.weft.registry;

/**
 * One condition of a route's or policy's status, as Kubernetes conditions say it.
 *
 * @param type {@code Accepted}, {@code ResolvedRefs} or {@code Programmed}
 * @param status whether the condition holds
 * @param reason a CamelCase reason from the Gateway API where it has one
 * @param message what a person needs to act on it
 */
public record ConfigCondition(String type, boolean status, String reason, String message) {}
