package dev.weft.distributor;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
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

  /**
   * Where a workload's certificate, private key and trust bundle are (as its certificate agent
   * writes them), for gRPC's {@code file_watcher} certificate provider, and how often it rereads
   * them. With mutual TLS on, the control plane's TLS settings refer to this provider by name.
   *
   * @param certificate the certificate chain, leaf first (PEM)
   * @param privateKey the private key (PEM)
   * @param caCertificates the trust bundle (PEM)
   * @param refreshInterval how often gRPC rereads the files: well under the certificates'
   *     half-life; gRPC counts it in whole seconds, so at least one
   */
  public record CertificateFiles(
      Path certificate, Path privateKey, Path caCertificates, Duration refreshInterval) {
    public CertificateFiles {
      if (refreshInterval.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException(
            "refreshInterval must be at least 1s (gRPC reads whole seconds): " + refreshInterval);
      }
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
    return json(serverUri, workload, Optional.empty());
  }

  /**
   * The bootstrap JSON as {@link #json(String, Workload)}, and with {@code certificates}, the
   * certificate provider instance ({@value SecurityTranslator#PROVIDER_INSTANCE}) that mutual TLS
   * reads the workload's identity and trust bundle from (gRFC A29).
   */
  public static String json(
      String serverUri, Workload workload, Optional<CertificateFiles> certificates) {
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
    // A locality, empty without a zone: gRFC A27 makes it optional, but grpc-js-xds (1.14) refuses
    // a bootstrap whose node has none ("locality field missing in node element").
    Struct.Builder locality = Struct.newBuilder();
    if (!workload.zone().isEmpty()) {
      locality.putFields("zone", text(workload.zone()));
    }
    Struct.Builder node =
        Struct.newBuilder()
            .putFields("id", text(workload.nodeId()))
            .putFields("locality", struct(locality))
            .putFields("metadata", Value.newBuilder().setStructValue(metadata).build());
    Struct.Builder bootstrap =
        Struct.newBuilder()
            .putFields("xds_servers", list(Value.newBuilder().setStructValue(server).build()))
            .putFields("node", Value.newBuilder().setStructValue(node).build())
            .putFields(
                "server_listener_resource_name_template",
                text(ResourceNames.SERVER_LISTENER_TEMPLATE));
    certificates.ifPresent(
        files ->
            bootstrap.putFields(
                "certificate_providers",
                struct(
                    Struct.newBuilder()
                        .putFields(
                            SecurityTranslator.PROVIDER_INSTANCE,
                            struct(
                                Struct.newBuilder()
                                    .putFields("plugin_name", text("file_watcher"))
                                    .putFields(
                                        "config",
                                        struct(
                                            Struct.newBuilder()
                                                .putFields(
                                                    "certificate_file",
                                                    text(files.certificate().toString()))
                                                .putFields(
                                                    "private_key_file",
                                                    text(files.privateKey().toString()))
                                                .putFields(
                                                    "ca_certificate_file",
                                                    text(files.caCertificates().toString()))
                                                .putFields(
                                                    "refresh_interval",
                                                    text(
                                                        Durations.toString(
                                                            Durations.fromMillis(
                                                                files
                                                                    .refreshInterval()
                                                                    .toMillis())))))))))));
    try {
      return JsonFormat.printer().print(bootstrap.build());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a Struct always prints", e);
    }
  }

  private static Value struct(Struct.Builder value) {
    return Value.newBuilder().setStructValue(value).build();
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
