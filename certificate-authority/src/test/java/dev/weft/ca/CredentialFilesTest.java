package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's credential files survive a crash: every file of a new generation is whole on disk,
 * and so is the generation's directory entry, before {@code ..data} names it; the swap is on disk
 * before the old generation is removed.
 */
class CredentialFilesTest {

  @TempDir Path dir;

  @Test
  void aGenerationIsOnDiskBeforeDataNamesItAndTheSwapBeforeTheOldOneGoes() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    Path out = dir.resolve("out");
    CredentialFiles.write(
        out,
        ca.issueOwn(new WorkloadIdentity("shop", "old"), List.of()),
        Instant.parse("2026-01-01T00:00:00Z"));
    List<String> steps = new ArrayList<>();
    Durable.Sync watching =
        new Durable.Sync() {
          @Override
          public void file(Path file, FileChannel channel) throws IOException {
            Durable.FORCE.file(file, channel);
            steps.add(
                "fsync " + file.getFileName() + " " + whole(file) + "; ..data: " + current(out));
          }

          @Override
          public void directory(Path directory) throws IOException {
            Durable.FORCE.directory(directory);
            steps.add(
                "fsync "
                    + (directory.equals(out) ? "the output directory" : "the new generation")
                    + "; ..data: "
                    + current(out));
          }
        };

    CredentialFiles.write(
        out,
        ca.issueOwn(new WorkloadIdentity("shop", "new"), List.of()),
        Instant.parse("2026-01-01T00:30:00Z"),
        watching);

    assertThat(steps)
        .containsExactly(
            "fsync certificate.pem whole; ..data: sa/old",
            "fsync private_key.pem whole; ..data: sa/old",
            "fsync ca_certificates.pem whole; ..data: sa/old",
            "fsync the new generation; ..data: sa/old",
            "fsync the output directory; ..data: sa/old",
            "fsync the output directory; ..data: sa/new");
    assertThat(CredentialFiles.read(out).orElseThrow().svid().spiffeId()).endsWith("sa/new");
    try (var entries = Files.list(out)) {
      assertThat(entries.filter(p -> p.getFileName().toString().startsWith("..2026")))
          .as("the old generation is gone")
          .hasSize(1);
    }
  }

  private static String whole(Path file) throws IOException {
    String text = Files.readString(file);
    try {
      if (file.getFileName().toString().equals(CredentialFiles.PRIVATE_KEY_FILE)) {
        Pem.parsePrivateKey(text);
      } else if (Pem.parseCertificates(text).isEmpty()) {
        return "empty";
      }
      return "whole";
    } catch (RuntimeException e) {
      return "torn";
    }
  }

  private static String current(Path out) {
    return CredentialFiles.read(out)
        .map(svid -> svid.svid().spiffeId().substring(svid.svid().spiffeId().lastIndexOf("sa/")))
        .orElse("nothing");
  }
}
