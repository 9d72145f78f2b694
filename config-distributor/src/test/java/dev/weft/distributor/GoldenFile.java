package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What Weft sends a proxy, kept as reviewed JSON: a change fails the test until the file is
 * regenerated ({@code -Dweft.golden.update=true}) and reviewed against Envoy's documentation.
 */
final class GoldenFile {

  private GoldenFile() {}

  /**
   * Asserts that {@code resources}, printed with {@code printer}, equal the file {@code golden}.
   */
  static void assertMatches(
      Path golden, List<? extends Message> resources, JsonFormat.Printer printer)
      throws IOException {
    StringBuilder json = new StringBuilder();
    for (Message resource : resources) {
      try {
        json.append(printer.print(resource)).append('\n');
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("register the typed configs of " + golden, e);
      }
    }
    if (Boolean.getBoolean("weft.golden.update")) {
      Files.writeString(golden, json, StandardCharsets.UTF_8);
    }
    assertThat(json.toString())
        .as(
            "what the proxy gets; if the change is meant, regenerate %s with"
                + " -Dweft.golden.update=true and review it",
            golden)
        .isEqualTo(Files.readString(golden, StandardCharsets.UTF_8));
  }
}
