package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnvoyBootstrapTest {

  private static final JsonFormat.Parser PARSER =
      JsonFormat.parser()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(HttpProtocolOptions.getDescriptor())
                  .add(io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig.getDescriptor())
                  .build());

  private static final EnvoyBootstrap.Proxy SIDECAR =
      new EnvoyBootstrap.Proxy(
          EnvoyBootstrap.ProxyType.SIDECAR,
          new dev.weft.distributor.Bootstrap.Workload("shop", "checkout", "checkout-0", "z1"),
          "10.1.0.7",
          Map.of("app", "checkout", "version", "v1"));

  private static final EnvoyBootstrap.ControlPlane MUTUAL_TLS =
      new EnvoyBootstrap.ControlPlane(
          "weft.weft-system.svc",
          15012,
          Optional.of(
              new EnvoyBootstrap.ControlPlaneTls(
                  "spiffe://cluster.local/ns/weft-system/sa/weft",
                  Path.of("/var/run/weft/sds/socket"))),
          true);

  @Test
  void theJsonIsEnvoysBootstrapAndPassesItsFieldConstraints() throws Exception {
    String json = EnvoyBootstrap.json(SIDECAR, MUTUAL_TLS);

    // Strict parsing: a field Envoy does not know would fail here.
    Bootstrap.Builder parsed = Bootstrap.newBuilder();
    PARSER.merge(json, parsed);

    assertThat(parsed.build()).isEqualTo(EnvoyBootstrap.of(SIDECAR, MUTUAL_TLS));
    assertThat(EnvoyConstraints.violations(parsed.build())).isEmpty();
  }

  @Test
  void theNodeSaysWhoTheProxyIsAsWeftReadsIt() {
    Bootstrap bootstrap = EnvoyBootstrap.of(SIDECAR, MUTUAL_TLS);

    assertThat(bootstrap.getNode().getId()).isEqualTo("checkout-0.shop");
    assertThat(bootstrap.getNode().getLocality().getZone()).isEqualTo("z1");
    var metadata = bootstrap.getNode().getMetadata().getFieldsMap();
    assertThat(metadata.get("NAMESPACE").getStringValue()).isEqualTo("shop");
    assertThat(metadata.get("SERVICE_ACCOUNT").getStringValue()).isEqualTo("checkout");
    assertThat(metadata.get("POD_NAME").getStringValue()).isEqualTo("checkout-0");
    assertThat(metadata.get("PROXY_TYPE").getStringValue()).isEqualTo("sidecar");
    assertThat(metadata.get("INSTANCE_IPS").getStringValue()).isEqualTo("10.1.0.7");
    assertThat(
            metadata.get("LABELS").getStructValue().getFieldsMap().get("version").getStringValue())
        .isEqualTo("v1");
  }

  @Test
  void theNodeListsTheEgressHostsOnlyWhenThereAreSome() {
    EnvoyBootstrap.Proxy scoped =
        new EnvoyBootstrap.Proxy(
            SIDECAR.type(),
            SIDECAR.workload(),
            SIDECAR.podIp(),
            SIDECAR.labels(),
            List.of(new EgressHosts.Host(".", "*"), new EgressHosts.Host("bank", "ledger")));

    var metadata = EnvoyBootstrap.of(scoped, MUTUAL_TLS).getNode().getMetadata().getFieldsMap();

    assertThat(metadata.get(EgressHosts.METADATA_KEY).getListValue().getValuesList())
        .extracting(Value::getStringValue)
        .containsExactly("./*", "bank/ledger");
    assertThat(EnvoyBootstrap.of(SIDECAR, MUTUAL_TLS).getNode().getMetadata().getFieldsMap())
        .doesNotContainKey(EgressHosts.METADATA_KEY);
  }

  @Test
  void adsGoesOverMutualTlsWithTheAgentsCertificatesAndOnlyToWeftsIdentity() throws Exception {
    Bootstrap bootstrap = EnvoyBootstrap.of(SIDECAR, MUTUAL_TLS);

    ApiConfigSource ads = bootstrap.getDynamicResources().getAdsConfig();
    assertThat(ads.getApiType()).isEqualTo(ApiConfigSource.ApiType.DELTA_GRPC);
    assertThat(ads.getGrpcServices(0).getEnvoyGrpc().getClusterName())
        .isEqualTo(EnvoyBootstrap.XDS_CLUSTER);
    assertThat(bootstrap.getDynamicResources().getLdsConfig().hasAds()).isTrue();
    assertThat(bootstrap.getDynamicResources().getCdsConfig().hasAds()).isTrue();

    Cluster xds = cluster(bootstrap, EnvoyBootstrap.XDS_CLUSTER);
    assertThat(
            xds.getLoadAssignment()
                .getEndpoints(0)
                .getLbEndpoints(0)
                .getEndpoint()
                .getAddress()
                .getSocketAddress())
        .satisfies(
            address -> {
              assertThat(address.getAddress()).isEqualTo("weft.weft-system.svc");
              assertThat(address.getPortValue()).isEqualTo(15012);
            });
    UpstreamTlsContext tls =
        xds.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(tls.getSni()).isEqualTo("weft.weft-system.svc");
    var common = tls.getCommonTlsContext();
    assertThat(common.getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("default");
    var validation = common.getCombinedValidationContext();
    assertThat(validation.getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
    assertThat(
            validation
                .getDefaultValidationContext()
                .getMatchTypedSubjectAltNames(0)
                .getMatcher()
                .getExact())
        .isEqualTo("spiffe://cluster.local/ns/weft-system/sa/weft");

    Cluster sds = cluster(bootstrap, EnvoyBootstrap.SDS_CLUSTER);
    assertThat(
            sds.getLoadAssignment()
                .getEndpoints(0)
                .getLbEndpoints(0)
                .getEndpoint()
                .getAddress()
                .getPipe()
                .getPath())
        .isEqualTo("/var/run/weft/sds/socket");
    assertThat(bootstrap.getAdmin().getAddress().getSocketAddress().getAddress())
        .isEqualTo("127.0.0.1");
  }

  @Test
  void plaintextHasNoSdsClusterAndStateOfTheWorldWhenAsked() {
    Bootstrap bootstrap =
        EnvoyBootstrap.of(
            SIDECAR, new EnvoyBootstrap.ControlPlane("127.0.0.1", 15010, Optional.empty(), false));

    assertThat(bootstrap.getStaticResources().getClustersList())
        .extracting(Cluster::getName)
        .containsExactly(EnvoyBootstrap.XDS_CLUSTER);
    assertThat(cluster(bootstrap, EnvoyBootstrap.XDS_CLUSTER).hasTransportSocket()).isFalse();
    assertThat(bootstrap.getDynamicResources().getAdsConfig().getApiType())
        .isEqualTo(ApiConfigSource.ApiType.GRPC);
    assertThat(EnvoyConstraints.violations(bootstrap)).isEmpty();
  }

  @Test
  void statsGoToTheControlPlanesMetricsServiceOverTheAdsCluster() throws Exception {
    Bootstrap bootstrap = EnvoyBootstrap.of(SIDECAR, MUTUAL_TLS);

    assertThat(bootstrap.getStatsFlushInterval().getSeconds()).isEqualTo(10);
    assertThat(bootstrap.getStatsSinksList()).hasSize(1);
    assertThat(bootstrap.getStatsSinks(0).getName()).isEqualTo("envoy.stat_sinks.metrics_service");
    var sink =
        bootstrap
            .getStatsSinks(0)
            .getTypedConfig()
            .unpack(io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig.class);
    assertThat(sink.getTransportApiVersion())
        .isEqualTo(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3);
    assertThat(sink.getGrpcService().getEnvoyGrpc().getClusterName())
        .isEqualTo(EnvoyBootstrap.XDS_CLUSTER);
    // Whole stat names, which the collector reads: Envoy's tag extraction cuts host names.
    assertThat(sink.getEmitTagsAsLabels()).isFalse();
  }

  @Test
  void withoutAStatsFlushIntervalTheProxySendsNoStats() {
    EnvoyBootstrap.ControlPlane telemetryOff =
        new EnvoyBootstrap.ControlPlane(
            "weft.weft-system.svc", 15010, Optional.empty(), true, Optional.empty());

    Bootstrap bootstrap = EnvoyBootstrap.of(SIDECAR, telemetryOff);

    assertThat(bootstrap.getStatsSinksList()).isEmpty();
    assertThat(bootstrap.hasStatsFlushInterval()).isFalse();
    assertThat(EnvoyConstraints.violations(bootstrap)).isEmpty();
  }

  @Test
  void aControlPlaneIdThatIsNotSpiffeIsRefused() {
    assertThatThrownBy(
            () -> new EnvoyBootstrap.ControlPlaneTls("weft", Path.of("/var/run/weft/sds/socket")))
        .hasMessageContaining("spiffe://");
  }

  private static Cluster cluster(Bootstrap bootstrap, String name) {
    return bootstrap.getStaticResources().getClustersList().stream()
        .filter(cluster -> cluster.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }
}
