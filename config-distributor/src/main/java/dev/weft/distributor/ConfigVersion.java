package dev.weft.distributor;

import dev.weft.registry.MeshState;
import dev.weft.registry.ServiceKey;
import java.util.Set;

/**
 * One version of the configuration the distributor serves: a registry snapshot, numbered, with the
 * time it was published, from which convergence (published to acknowledged) is measured.
 *
 * @param sequence increases by one per version
 * @param state the registry snapshot the version's resources are translated from
 * @param publishedNanos the distributor's nano clock ({@link AdsContext#nanoClock()}) when the
 *     version was published: as the change reached the distributor for endpoints, after the quiet
 *     period for anything else
 * @param attachedOnly the Services of the change that made this version whose own object is the
 *     previous version's: only what is attached to them (routes, policies) changed. What a proxy
 *     receives for them that is built from the Service alone (a client Listener, a load assignment
 *     not asked for from a zone) is then unchanged, and is not resolved again for every stream
 * @param routesOnly those of {@code attachedOnly} whose policies, and their namespace's, are also
 *     as before: only their routes changed, so only their RouteConfigurations can differ
 */
record ConfigVersion(
    long sequence,
    MeshState state,
    long publishedNanos,
    Set<ServiceKey> attachedOnly,
    Set<ServiceKey> routesOnly) {}
