package dev.weft.registry;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Validated configuration the registry carries for the stages that translate it, such as a Gateway
 * API {@code HTTPRoute} attached to a Service.
 *
 * @param key kind, namespace and name
 * @param resource the object as validated; the registry never mutates it after validation, and
 *     neither may a reader
 */
public record MeshConfig(ObjectKey key, HasMetadata resource) {}
