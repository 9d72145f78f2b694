/**
 * Weft's own model of routes: Gateway API {@code HTTPRoute}s and {@code GRPCRoute}s attached to
 * Services, decoded once by the registry with the Gateway API's defaults applied, and ordered by
 * its precedence. Immutable values; translation to any proxy's configuration reads only these,
 * never a Kubernetes object.
 */
package dev.weft.registry.model;
