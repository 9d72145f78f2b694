package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.weft.registry.Endpoint;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.Set;
import java.util.TreeSet;

/**
 * Mutual TLS for clusters and server listeners (gRFC A29): certificates come from the workload's
 * own certificate provider, never over xDS, so private keys never leave the workload. Pure
 * functions.
 */
final class SecurityTranslator {

  /** The certificate provider instance Weft's bootstraps define (a {@code file_watcher}). */
  static final String PROVIDER_INSTANCE = "weft";

  private static final String TLS_SOCKET = "envoy.transport_sockets.tls";

  private static final CertificateProviderPluginInstance IDENTITY =
      CertificateProviderPluginInstance.newBuilder()
          .setInstanceName(PROVIDER_INSTANCE)
          .setCertificateName("default")
          .build();

  private static final CertificateProviderPluginInstance ROOTS =
      CertificateProviderPluginInstance.newBuilder()
          .setInstanceName(PROVIDER_INSTANCE)
          .setCertificateName("ROOTCA")
          .build();

  private SecurityTranslator() {}

  /**
   * A client's TLS for calls to {@code service}: present the workload's certificate, trust the
   * mesh's bundle, and accept only the SPIFFE IDs of the service accounts that run the Service's
   * endpoints. While none is known (no Pod seen yet), any identity of the Service's namespace.
   */
  static TransportSocket upstream(
      ServiceKey service, ServiceEndpoints endpoints, String trustDomain) {
    Set<String> accounts = new TreeSet<>();
    for (Endpoint endpoint : endpoints.all()) {
      if (!endpoint.serviceAccount().isEmpty()) {
        accounts.add(endpoint.serviceAccount());
      }
    }
    String namespacePrefix = "spiffe://" + trustDomain + "/ns/" + service.namespace() + "/sa/";
    CertificateValidationContext.Builder validation =
        CertificateValidationContext.newBuilder().setCaCertificateProviderInstance(ROOTS);
    if (accounts.isEmpty()) {
      validation.addMatchSubjectAltNames(StringMatcher.newBuilder().setPrefix(namespacePrefix));
    } else {
      for (String account : accounts) {
        validation.addMatchSubjectAltNames(
            StringMatcher.newBuilder().setExact(namespacePrefix + account));
      }
    }
    UpstreamTlsContext context =
        UpstreamTlsContext.newBuilder()
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setTlsCertificateProviderInstance(IDENTITY)
                    .setValidationContext(validation))
            .build();
    return TransportSocket.newBuilder()
        .setName(TLS_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /**
   * A server's TLS: present the workload's certificate and require one from every client, signed by
   * the mesh's bundle. Which identities may call is authorization, not authentication.
   */
  static TransportSocket downstream() {
    DownstreamTlsContext context =
        DownstreamTlsContext.newBuilder()
            .setRequireClientCertificate(BoolValue.of(true))
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setTlsCertificateProviderInstance(IDENTITY)
                    .setValidationContext(
                        CertificateValidationContext.newBuilder()
                            .setCaCertificateProviderInstance(ROOTS)))
            .build();
    return TransportSocket.newBuilder()
        .setName(TLS_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }
}
