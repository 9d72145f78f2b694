/**
 * Weft's telemetry collector: receives the metrics proxies and proxyless gRPC workloads push (OTLP;
 * Envoy's Metrics Service and Access Log Service), attributes them to the reporting workload by its
 * mTLS identity, and keeps service-to-service golden metrics (requests, errors, latency), written
 * in the Prometheus text format and kept in a sliding window for the service graph.
 */
package dev.weft.telemetry;
