package dev.weft.telemetry;

/**
 * The workload that sent a report.
 *
 * @param workload the service account of its certificate, or standalone its {@code service.name}
 * @param namespace its namespace
 * @param authenticated whether it was read from the caller's mTLS certificate (true) or taken from
 *     what the report says about itself (false, standalone only)
 */
record Reporter(String workload, String namespace, boolean authenticated) {

  static final String UNKNOWN = "unknown";
}
