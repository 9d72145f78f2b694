/**
 * Weft's own model of routes and gateways: Gateway API {@code HTTPRoute}s and {@code GRPCRoute}s
 * attached to Services or Gateways, Gateways and their classes, and the TLS certificates Gateways
 * serve, decoded once by the registry with the Gateway API's defaults applied; routes ordered by
 * its precedence. Immutable values; translation to any proxy's configuration reads only these,
 * never a Kubernetes object.
 */
package dev.weft.registry.model;
