package dev.weft.telemetry;

import java.util.Optional;

/**
 * Finds the mesh service a client's calls went to. The application backs it with the registry; an
 * empty answer means the mesh does not know the target, and the report is counted, not stored (so a
 * sender cannot create series by naming targets). Called on gRPC threads for every reported series:
 * it must be fast and must not block.
 */
@FunctionalInterface
public interface DestinationResolver {

  Optional<Destination> resolve(CallTarget target);
}
