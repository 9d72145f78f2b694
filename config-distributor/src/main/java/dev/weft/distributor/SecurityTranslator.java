package dev.weft.distributor;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import dev.weft.registry.Endpoint;
import dev.weft.registry.ServiceEndpoints;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.List;
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
    CertificateValidationContext.Builder validation =
        CertificateValidationContext.newBuilder().setCaCertificateProviderInstance(ROOTS);
    validation.addAllMatchSubjectAltNames(peerIdentities(service, endpoints, trustDomain));
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
   * An Envoy sidecar's TLS for calls to {@code service}: the same identities accepted as {@link
   * #upstream}, with the workload's certificate and the mesh's bundle from the agent's SDS socket
   * (the {@code sds-grpc} cluster of its bootstrap).
   */
  static TransportSocket upstreamFromSds(
      ServiceKey service, ServiceEndpoints endpoints, String trustDomain) {
    ConfigSource sds = agentSds();
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
    for (StringMatcher identity : peerIdentities(service, endpoints, trustDomain)) {
      validation.addMatchTypedSubjectAltNames(
          SubjectAltNameMatcher.newBuilder()
              .setSanType(SubjectAltNameMatcher.SanType.URI)
              .setMatcher(identity));
    }
    UpstreamTlsContext context =
        UpstreamTlsContext.newBuilder()
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .addTlsCertificateSdsSecretConfigs(
                        SdsSecretConfig.newBuilder()
                            .setName(EnvoyBootstrap.CERTIFICATE_SECRET)
                            .setSdsConfig(sds))
                    .setCombinedValidationContext(
                        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(validation)
                            .setValidationContextSdsSecretConfig(
                                SdsSecretConfig.newBuilder()
                                    .setName(EnvoyBootstrap.TRUST_BUNDLE_SECRET)
                                    .setSdsConfig(sds))))
            .build();
    return TransportSocket.newBuilder()
        .setName(TLS_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /**
   * An Envoy sidecar's TLS for connections to its workload: present the workload's certificate and
   * require one from every client, signed by the mesh's bundle, both from the agent's SDS socket.
   */
  static TransportSocket downstreamFromSds() {
    ConfigSource sds = agentSds();
    DownstreamTlsContext context =
        DownstreamTlsContext.newBuilder()
            .setRequireClientCertificate(BoolValue.of(true))
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .addTlsCertificateSdsSecretConfigs(
                        SdsSecretConfig.newBuilder()
                            .setName(EnvoyBootstrap.CERTIFICATE_SECRET)
                            .setSdsConfig(sds))
                    .setValidationContextSdsSecretConfig(
                        SdsSecretConfig.newBuilder()
                            .setName(EnvoyBootstrap.TRUST_BUNDLE_SECRET)
                            .setSdsConfig(sds)))
            .build();
    return TransportSocket.newBuilder()
        .setName(TLS_SOCKET)
        .setTypedConfig(Any.pack(context))
        .build();
  }

  /** The workload agent's SDS socket, as the sidecar's bootstrap names it. */
  private static ConfigSource agentSds() {
    return ConfigSource.newBuilder()
        .setApiConfigSource(
            ApiConfigSource.newBuilder()
                .setApiType(ApiConfigSource.ApiType.GRPC)
                .setTransportApiVersion(ApiVersion.V3)
                .addGrpcServices(
                    GrpcService.newBuilder()
                        .setEnvoyGrpc(
                            GrpcService.EnvoyGrpc.newBuilder()
                                .setClusterName(EnvoyBootstrap.SDS_CLUSTER))))
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  /**
   * The SPIFFE IDs of the service accounts that run the Service's endpoints; while none is known
   * (no Pod seen yet), any identity of the Service's namespace.
   */
  private static List<StringMatcher> peerIdentities(
      ServiceKey service, ServiceEndpoints endpoints, String trustDomain) {
    Set<String> accounts = new TreeSet<>();
    for (Endpoint endpoint : endpoints.all()) {
      if (!endpoint.serviceAccount().isEmpty()) {
        accounts.add(endpoint.serviceAccount());
      }
    }
    String namespacePrefix = "spiffe://" + trustDomain + "/ns/" + service.namespace() + "/sa/";
    if (accounts.isEmpty()) {
      return List.of(StringMatcher.newBuilder().setPrefix(namespacePrefix).build());
    }
    List<StringMatcher> identities = new ArrayList<>();
    for (String account : accounts) {
      identities.add(StringMatcher.newBuilder().setExact(namespacePrefix + account).build());
    }
    return identities;
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
