package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent command, once, against a real CA server. */
class AgentMainTest {

  @TempDir Path dir;

  @Test
  void writesTheFilesOnceAndExits() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    String token = "agent-main-test-token-0123456789";
    Files.writeString(dir.resolve("tokens"), token + " shop web\n");
    Files.writeString(dir.resolve("token"), token + "\n");
    Files.writeString(dir.resolve("roots.pem"), Pem.certificates(ca.trustBundle()));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (CaServer server =
        CaServer.builder(ca)
            .port(0)
            .authenticator(Authenticator.bootstrapTokens(dir.resolve("tokens")))
            .start()) {

      int exit =
          AgentMain.run(
              new String[] {
                "--ca=localhost:" + server.port(),
                "--ca-bundle=" + dir.resolve("roots.pem"),
                "--token-file=" + dir.resolve("token"),
                "--out=" + dir.resolve("out"),
                "--once"
              },
              new PrintStream(err, true, StandardCharsets.UTF_8));

      assertThat(exit).as(err.toString(StandardCharsets.UTF_8)).isZero();
    }
    assertThat(CredentialFiles.read(dir.resolve("out")).orElseThrow().svid().spiffeId())
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
  }

  @Test
  void refusesAnSdsSocketPathThatIsAnotherFileInOneLine() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    Files.writeString(dir.resolve("roots.pem"), Pem.certificates(ca.trustBundle()));
    Files.writeString(dir.resolve("socket"), "someone's file");
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int exit =
        AgentMain.run(
            new String[] {
              "--ca=localhost:1",
              "--ca-bundle=" + dir.resolve("roots.pem"),
              "--out=" + dir.resolve("out"),
              "--sds-socket=" + dir.resolve("socket")
            },
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8).strip())
        .isEqualTo(
            dir.resolve("socket") + " exists and is not a socket: not removed, SDS not started");
    assertThat(Files.readString(dir.resolve("socket"))).isEqualTo("someone's file");
  }

  @Test
  void refusesMissingOptions() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int exit =
        AgentMain.run(
            new String[] {"--ca=localhost:1"}, new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("missing --ca-bundle");
  }
}
