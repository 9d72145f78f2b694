package dev.weft.distributor;

import dev.weft.registry.ServiceKey;

/**
 * A requested resource name, parsed once when a proxy subscribes: which Service port it is about
 * (for client resources), or which address (for a server Listener), or neither when the name refers
 * to nothing Weft can serve (it then does not exist, and the proxy is told so).
 */
record ResourceRef(
    ResourceType type,
    String name,
    ServiceKey service,
    int port,
    ResourceNames.ServerAddress server) {

  static ResourceRef parse(ResourceType type, String name, ResourceNames names) {
    if (type == ResourceType.LISTENER) {
      var server = names.parseServerListener(name);
      if (server.isPresent()) {
        return new ResourceRef(type, name, null, 0, server.get());
      }
      return names
          .parseListener(name)
          .map(t -> new ResourceRef(type, name, t.service(), t.port(), null))
          .orElse(new ResourceRef(type, name, null, 0, null));
    }
    return names
        .parseCanonical(name)
        .map(t -> new ResourceRef(type, name, t.service(), t.port(), null))
        .orElse(new ResourceRef(type, name, null, 0, null));
  }

  boolean isServerListener() {
    return server != null;
  }
}
