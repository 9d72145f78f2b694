package dev.weft.distributor;

import dev.weft.registry.MeshState;

/**
 * One version of the configuration the distributor serves: a registry snapshot, numbered, with the
 * time it was published, from which convergence (published to acknowledged) is measured.
 *
 * @param sequence increases by one per version
 * @param state the registry snapshot the version's resources are translated from
 * @param publishedNanos the distributor's nano clock ({@link AdsContext#nanoClock()}) when the
 *     version was published: as the change reached the distributor for endpoints, after the quiet
 *     period for anything else
 */
record ConfigVersion(long sequence, MeshState state, long publishedNanos) {}
