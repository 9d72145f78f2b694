package dev.weft.controller;

import org.springframework.context.SmartLifecycle;

/**
 * The order in which the application's lifecycles start and stop (higher phases start last and stop
 * first). On shutdown the servers stop taking work and drain first, while the registry's source
 * still feeds them; the source stops after; the web server (Spring Boot's own phases, lower still)
 * keeps answering health checks and scrapes until the end.
 */
final class Phases {

  /** The xDS server (which drains every stream) and the leader election: the first to stop. */
  static final int SERVERS = SmartLifecycle.DEFAULT_PHASE;

  /**
   * The CA's port, which also serves xDS over mutual TLS: it stops once the streams have drained,
   * and takes CSRs until then. The injection webhook too: the API server may call it until the
   * replica has left the Service.
   */
  static final int CA = SmartLifecycle.DEFAULT_PHASE - 50;

  /** The registry's source: stops once nothing is served from it any more. */
  static final int SOURCES = SmartLifecycle.DEFAULT_PHASE - 100;

  private Phases() {}
}
