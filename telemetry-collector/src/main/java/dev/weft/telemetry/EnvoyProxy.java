package dev.weft.telemetry;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Optional;

/**
 * The Envoy proxy at the other end of a Metrics Service or Access Log Service stream: the workload
 * it reports for, read once from the stream's first message.
 *
 * <p>Who it is comes from the caller's mutual TLS certificate when it has one, whatever the node
 * says. Standalone (no certificate), it is what the node says, as Weft's bootstrap writes it and
 * the xDS server reads it: metadata {@code SERVICE_ACCOUNT} (the workload, as a certificate would
 * name it) and {@code NAMESPACE}. The version is the Pod label {@code version} (or {@code
 * app.kubernetes.io/version}) from the node's {@code LABELS}, as Istio reads it; a claim, like
 * OTLP's {@code service.version}.
 *
 * @param reporter the workload the proxy reports for
 * @param version its version, or {@code unknown}
 * @param nodeId the node's id, which tells the workload's replicas apart
 */
record EnvoyProxy(Reporter reporter, String version, String nodeId) {

  /** A node id, label or name longer than this is refused: it becomes part of a series' key. */
  static final int MAX_NODE_FIELD_CHARS = 253;

  /**
   * Reads the proxy from a stream's identifying node; the message names the field that is wrong.
   */
  static EnvoyProxy of(Node node, String field, Reporter authenticated) throws InvalidReport {
    if (node.getId().isEmpty()) {
      throw new InvalidReport(
          field + ".id is empty: an Envoy node always has an id (Weft's bootstrap sets it)");
    }
    checkLength(field + ".id", node.getId());
    Struct metadata = node.getMetadata();
    Reporter reporter = authenticated;
    if (reporter == null) {
      reporter =
          new Reporter(
              text(metadata, "SERVICE_ACCOUNT", field).orElse(Reporter.UNKNOWN),
              text(metadata, "NAMESPACE", field).orElse(Reporter.UNKNOWN),
              false);
    }
    String version = Destination.UNKNOWN_VERSION;
    Value labels = metadata.getFieldsOrDefault("LABELS", null);
    if (labels != null && labels.hasStructValue()) {
      String labelsField = field + ".metadata.LABELS";
      version =
          text(labels.getStructValue(), "version", labelsField)
              .or(() -> textOrEmpty(labels.getStructValue(), "app.kubernetes.io/version"))
              .orElse(Destination.UNKNOWN_VERSION);
      checkLength(labelsField, version);
    }
    return new EnvoyProxy(reporter, version, node.getId());
  }

  private static Optional<String> textOrEmpty(Struct struct, String key) {
    Value value = struct.getFieldsOrDefault(key, null);
    return value != null && value.hasStringValue() && !value.getStringValue().isEmpty()
        ? Optional.of(value.getStringValue())
        : Optional.empty();
  }

  private static Optional<String> text(Struct struct, String key, String field)
      throws InvalidReport {
    Optional<String> value = textOrEmpty(struct, key);
    if (value.isPresent()) {
      checkLength(field + "." + key, value.get());
    }
    return value;
  }

  private static void checkLength(String field, String value) throws InvalidReport {
    if (value.length() > MAX_NODE_FIELD_CHARS) {
      throw new InvalidReport(
          field
              + " has "
              + value.length()
              + " characters; at most "
              + MAX_NODE_FIELD_CHARS
              + " are taken (a Kubernetes name is at most 253)");
    }
  }
}
