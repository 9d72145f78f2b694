package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
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

  @Test
  void aRefusedTokenIsOneLineNotAStackTrace() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    Files.writeString(dir.resolve("tokens"), "agent-main-test-token-0123456789 shop web\n");
    Files.writeString(dir.resolve("token"), "somebody-elses-token-0123456789\n");
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

      assertThat(exit).isEqualTo(1);
      assertThat(err.toString(StandardCharsets.UTF_8))
          .startsWith("weft agent: the CA at localhost:" + server.port() + " refused the token")
          .endsWith(
              "; check --token-file (the Pod's projected ServiceAccount token) or the CA's"
                  + " bootstrap tokens\n")
          .hasLineCount(1);
    }
  }

  @Test
  void anUnreachableCaAndAMissingBundleAreOneLineEach() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    Files.writeString(dir.resolve("roots.pem"), Pem.certificates(ca.trustBundle()));
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int exit =
        AgentMain.run(
            new String[] {
              "--ca=127.0.0.1:" + closed,
              "--ca-bundle=" + dir.resolve("roots.pem"),
              "--out=" + dir.resolve("out"),
              "--once"
            },
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("weft agent: cannot reach the CA at 127.0.0.1:" + closed)
        .hasLineCount(1);

    ByteArrayOutputStream missing = new ByteArrayOutputStream();
    int missingExit =
        AgentMain.run(
            new String[] {
              "--ca=127.0.0.1:" + closed,
              "--ca-bundle=" + dir.resolve("nowhere.pem"),
              "--out=" + dir.resolve("out"),
              "--once"
            },
            new PrintStream(missing, true, StandardCharsets.UTF_8));

    assertThat(missingExit).isEqualTo(1);
    assertThat(missing.toString(StandardCharsets.UTF_8))
        .startsWith("weft agent: cannot read or write a file: ")
        .contains("nowhere.pem")
        .hasLineCount(1);
  }
}
