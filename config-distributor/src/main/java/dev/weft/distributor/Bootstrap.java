package dev.weft.distributor;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import java.util.regex.Pattern;

/**
 * The gRPC xDS bootstrap (gRFC A27) for a workload: where its control plane is, who the workload is
 * (node id and metadata Weft reads back as the proxy's identity), and the name template its
 * xDS-enabled servers use for their Listeners (gRFC A36).
 */
public final class Bootstrap {

  private static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  private Bootstrap() {}

  /**
   * A workload to bootstrap.
   *
   * @param namespace its Kubernetes namespace
   * @param serviceAccount its service account
   * @param pod its Pod name; may be empty
   * @param zone its zone, for locality-aware load balancing; may be empty
   */
  public record Workload(String namespace, String serviceAccount, String pod, String zone) {

    /** The node id Weft reports the workload by: {@code <pod>.<namespace>}, or the account's. */
    public String nodeId() {
      return (pod.isEmpty() ? serviceAccount : pod) + "." + namespace;
    }
  }

  /** Checks a workload's fields, naming each that is wrong. */
  public static Validated<Workload> workload(
      String namespace, String serviceAccount, String pod, String zone) {
    FieldErrors errors = new FieldErrors();
    String ns = orEmpty(namespace);
    String account = orEmpty(serviceAccount);
    if (ns.isEmpty()) {
      errors.add("namespace", "required");
    } else if (ns.length() > 63 || !DNS_LABEL.matcher(ns).matches()) {
      errors.add("namespace", "\"" + ns + "\" is not a Kubernetes namespace name");
    }
    if (account.isEmpty()) {
      errors.add("serviceAccount", "required");
    } else if (account.length() > 253 || !DNS_SUBDOMAIN.matcher(account).matches()) {
      errors.add("serviceAccount", "\"" + account + "\" is not a service account name");
    }
    String podName = orEmpty(pod);
    if (!podName.isEmpty()
        && (podName.length() > 253 || !DNS_SUBDOMAIN.matcher(podName).matches())) {
      errors.add("pod", "\"" + podName + "\" is not a Pod name");
    }
    return errors.toResult(() -> new Workload(ns, account, podName, orEmpty(zone)));
  }

  /**
   * The bootstrap JSON for {@code workload}, whose xDS server is {@code serverUri} ({@code
   * host:port}), reached in plaintext.
   */
  public static String json(String serverUri, Workload workload) {
    Struct server =
        Struct.newBuilder()
            .putFields("server_uri", text(serverUri))
            .putFields(
                "channel_creds",
                list(
                    Value.newBuilder()
                        .setStructValue(Struct.newBuilder().putFields("type", text("insecure")))
                        .build()))
            .putFields("server_features", list(text("xds_v3")))
            .build();
    Struct.Builder metadata =
        Struct.newBuilder()
            .putFields("NAMESPACE", text(workload.namespace()))
            .putFields("SERVICE_ACCOUNT", text(workload.serviceAccount()));
    if (!workload.pod().isEmpty()) {
      metadata.putFields("POD_NAME", text(workload.pod()));
    }
    Struct.Builder node =
        Struct.newBuilder()
            .putFields("id", text(workload.nodeId()))
            .putFields("metadata", Value.newBuilder().setStructValue(metadata).build());
    if (!workload.zone().isEmpty()) {
      node.putFields(
          "locality",
          Value.newBuilder()
              .setStructValue(Struct.newBuilder().putFields("zone", text(workload.zone())))
              .build());
    }
    Struct bootstrap =
        Struct.newBuilder()
            .putFields("xds_servers", list(Value.newBuilder().setStructValue(server).build()))
            .putFields("node", Value.newBuilder().setStructValue(node).build())
            .putFields(
                "server_listener_resource_name_template",
                text(ResourceNames.SERVER_LISTENER_TEMPLATE))
            .build();
    try {
      return JsonFormat.printer().print(bootstrap);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a Struct always prints", e);
    }
  }

  private static Value text(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  private static Value list(Value... values) {
    ListValue.Builder list = ListValue.newBuilder();
    for (Value value : values) {
      list.addValues(value);
    }
    return Value.newBuilder().setListValue(list).build();
  }

  private static String orEmpty(String value) {
    return value == null ? "" : value.trim();
  }
}
