package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A setting Weft cannot start with is reported as the property, the problem and what to do, without
 * a stack trace.
 */
@ExtendWith(OutputCaptureExtension.class)
class StartupFailureTest {

  @TempDir Path dir;

  @Test
  void aMissingConfigDirectoryNamesTheSettingAndWhatToDo(CapturedOutput output) {
    assertThatThrownBy(
            () -> run("--weft.config-dir=" + dir.resolve("nowhere"), "--weft.ca.enabled=false"))
        .hasRootCauseInstanceOf(IllegalArgumentException.class);

    assertThat(output.getOut() + output.getErr())
        .contains("APPLICATION FAILED TO START")
        .contains("weft.config-dir: config directory " + dir.resolve("nowhere"))
        .contains("--weft.config-dir=PATH")
        .doesNotContain("\tat dev.weft");
  }

  @Test
  void anXdsPortInUseNamesTheSetting(CapturedOutput output) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(
              () ->
                  run(
                      "--weft.config-dir=" + dir,
                      "--weft.ca.enabled=false",
                      "--weft.xds.port=" + taken.getLocalPort()))
          .isNotNull();

      assertThat(output.getOut() + output.getErr())
          .contains("weft.xds.port: cannot serve xDS on port " + taken.getLocalPort())
          .contains("--weft.xds.port=PORT")
          .doesNotContain("\tat dev.weft");
    }
  }

  @Test
  void anInvalidTrustDomainNamesTheSetting(CapturedOutput output) {
    assertThatThrownBy(() -> run("--weft.config-dir=" + dir, "--weft.ca.trust-domain=Not A Domain"))
        .isNotNull();

    assertThat(output.getOut() + output.getErr())
        .contains("weft.ca.trust-domain:")
        .contains("--weft.ca.trust-domain=NAME")
        .doesNotContain("\tat dev.weft");
  }

  @Test
  void injectionTurnedOnWithoutItsInitImageNamesTheSetting(CapturedOutput output) {
    assertThatThrownBy(
            () ->
                run(
                    "--weft.config-dir=" + dir,
                    "--weft.xds.port=0",
                    "--weft.injection.enabled=true",
                    "--weft.webhooks.port=0",
                    "--weft.injection.agent.image=weft/controller:1"))
        .isNotNull();

    assertThat(output.getOut() + output.getErr())
        .contains("weft.injection.init.image: no image is set")
        .contains("--weft.injection.enabled=false")
        .doesNotContain("\tat dev.weft");
  }

  @Test
  void injectionTurnedOnWithoutTheCaNamesBoth(CapturedOutput output) {
    assertThatThrownBy(
            () ->
                run(
                    "--weft.config-dir=" + dir,
                    "--weft.xds.port=0",
                    "--weft.ca.enabled=false",
                    "--weft.injection.enabled=true"))
        .isNotNull();

    assertThat(output.getOut() + output.getErr())
        .contains("weft.injection.enabled: sidecar injection needs Weft's CA")
        .contains("--weft.ca.enabled=true")
        .doesNotContain("\tat dev.weft");
  }

  private static void run(String... args) {
    String[] all = new String[args.length + 4];
    all[0] = "--server.port=0";
    all[1] = "--management.server.port=0";
    all[2] = "--weft.mode=standalone";
    all[3] = "--weft.ca.port=0";
    System.arraycopy(args, 0, all, 4, args.length);
    new SpringApplicationBuilder(WeftApplication.class).run(all).close();
  }
}
