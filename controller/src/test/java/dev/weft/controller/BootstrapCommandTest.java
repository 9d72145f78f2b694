package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BootstrapCommandTest {

  @Test
  void printsABootstrapGrpcAccepts() throws Exception {
    StringWriter out = new StringWriter();
    int exit =
        new CommandLine(new BootstrapCommand())
            .setOut(new PrintWriter(out))
            .execute(
                "--namespace=shop",
                "--service-account=checkout",
                "--pod=checkout-7d9",
                "--xds-address=weft.weft-system.svc:15010");

    assertThat(exit).isZero();
    // grpc-xds parses it: the same parser it uses for GRPC_XDS_BOOTSTRAP.
    Object parsed = io.grpc.internal.JsonParser.parse(out.toString());
    assertThat(parsed.toString())
        .contains("server_uri=weft.weft-system.svc:15010")
        .contains("id=checkout-7d9.shop")
        .contains("server_listener_resource_name_template=weft/inbound?address=%s");
  }

  @Test
  void withACertificateDirectoryAddsTheFileWatcherProviderMutualTlsReads() throws Exception {
    StringWriter out = new StringWriter();
    int exit =
        new CommandLine(new BootstrapCommand())
            .setOut(new PrintWriter(out))
            .execute(
                "--namespace=shop",
                "--service-account=checkout",
                "--certificate-dir=/var/run/weft");

    assertThat(exit).isZero();
    Object parsed = io.grpc.internal.JsonParser.parse(out.toString());
    assertThat(parsed.toString())
        .contains("certificate_providers={weft={plugin_name=file_watcher")
        .contains("certificate_file=/var/run/weft/certificate.pem")
        .contains("private_key_file=/var/run/weft/private_key.pem")
        .contains("ca_certificate_file=/var/run/weft/ca_certificates.pem")
        .contains("refresh_interval=60s");
  }

  @Test
  void refusesAnInvalidWorkloadNamingTheOption() {
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new BootstrapCommand())
            .setErr(new PrintWriter(err))
            .execute("--namespace=Shop!", "--service-account=checkout");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString())
        .contains("--namespace: \"Shop!\" is not a Kubernetes namespace name");
  }

  @Test
  void forEnvoyPrintsEnvoysBootstrapOverMutualTlsToWeftsIdentity() throws Exception {
    StringWriter out = new StringWriter();
    int exit =
        new CommandLine(new BootstrapCommand())
            .setOut(new PrintWriter(out))
            .execute(
                "--proxy=envoy",
                "--namespace=shop",
                "--service-account=checkout",
                "--pod=checkout-7d9",
                "--pod-ip=10.1.0.7",
                "--label=app=checkout",
                "--label=version=v2",
                "--egress=./*,bank/ledger",
                "--egress=*/audit",
                "--xds-address=weft.weft-system.svc:15012",
                "--control-plane-id=spiffe://cluster.local/ns/weft-system/sa/weft");

    assertThat(exit).isZero();
    // Envoy's own message, parsed strictly: an unknown field would fail.
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser()
        .usingTypeRegistry(
            JsonFormat.TypeRegistry.newBuilder()
                .add(UpstreamTlsContext.getDescriptor())
                .add(HttpProtocolOptions.getDescriptor())
                .add(io.envoyproxy.envoy.config.metrics.v3.MetricsServiceConfig.getDescriptor())
                .build())
        .merge(out.toString(), bootstrap);
    assertThat(bootstrap.getNode().getId()).isEqualTo("checkout-7d9.shop");
    assertThat(bootstrap.getNode().getMetadata().getFieldsOrThrow("INSTANCE_IPS").getStringValue())
        .isEqualTo("10.1.0.7");
    assertThat(
            bootstrap
                .getNode()
                .getMetadata()
                .getFieldsOrThrow("EGRESS")
                .getListValue()
                .getValuesList()
                .stream()
                .map(value -> value.getStringValue()))
        .containsExactly("./*", "bank/ledger", "*/audit");
    assertThat(bootstrap.getDynamicResources().getAdsConfig().getApiType())
        .isEqualTo(ApiConfigSource.ApiType.DELTA_GRPC);
    assertThat(out.toString())
        .contains("spiffe://cluster.local/ns/weft-system/sa/weft")
        .contains("/var/run/weft/sds/socket");
  }

  @Test
  void forEnvoyRefusesABadLabelAndAddressNamingTheOption() {
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new BootstrapCommand())
            .setErr(new PrintWriter(err))
            .execute(
                "--proxy=envoy",
                "--namespace=shop",
                "--service-account=checkout",
                "--label=app",
                "--egress=ledger.bank",
                "--pod-ip=checkout.shop",
                "--xds-address=weft");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString())
        .contains("--label: \"app\" is not key=value")
        .contains("--egress: \"ledger.bank\" is not <namespace>/<service>")
        .contains("--pod-ip: \"checkout.shop\" is not an IP address")
        .contains("--xds-address: \"weft\" is not host:port");
  }
}
