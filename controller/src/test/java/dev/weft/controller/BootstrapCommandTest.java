package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;

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
}
