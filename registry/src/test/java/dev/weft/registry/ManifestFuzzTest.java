package dev.weft.registry;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.weft.api.JsonTreeMutator;
import dev.weft.api.validation.FieldError;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Fuzz tests of the manifest path of directory mode (see docs/fuzzing.md): YAML text through {@link
 * ManifestParser}, each object through {@link ResourceDecoder} by way of {@link
 * RegistrySource#addUpsert}, and the result into a {@link StateWriter} snapshot, as {@code
 * DirectorySource} does with a file.
 *
 * <p>The contract checked: whatever the text, a file is a syntax error or a list of documents; a
 * document is an object, a rejection naming the field, or unreadable; decoding never throws but
 * returns the value or the rejection; and no input hangs (the committed inputs include a billion
 * laughs, recursive aliases and nesting thousands deep). Kubernetes mode hands the decoder objects
 * from the API server, so the decoder half covers it too.
 *
 * <p>In a normal build each method runs only on its inputs in {@code ManifestFuzzTestInputs/<
 * method>}; with {@code -Dweft.fuzz=1 -Dtest=ManifestFuzzTest#<method>} Jazzer fuzzes it.
 */
@Timeout(30) // per input
class ManifestFuzzTest {

  /** The example manifests of examples/ (and a GRPCRoute), which mutateManifest starts from. */
  static final List<String> MANIFESTS =
      List.of(
          "canary.yaml",
          "catalog.yaml",
          "greeter.yaml",
          "grpc-route.yaml",
          "traffic-policy.yaml",
          "traffic-policy-canary-rule.yaml",
          "fault-policy-grpc.yaml",
          "fault-policy-http.yaml",
          "rate-limit-policy.yaml",
          "telemetry.yaml");

  private static final ManifestParser PARSER = new ManifestParser();
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---$");
  private static final YAMLMapper YAML = YAMLMapper.builder().build();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** The documents of {@link #MANIFESTS}, parsed once. */
  private static final class Base {
    static final List<JsonNode> DOCUMENTS = load();
  }

  /**
   * Arbitrary bytes as a manifest file (UTF-8, as DirectorySource reads it). The committed inputs
   * are the examples, YAML bombs and deep nesting.
   */
  @FuzzTest(maxDuration = "3m")
  void parseArbitraryYaml(byte[] file) {
    check(new String(file, StandardCharsets.UTF_8));
  }

  /**
   * One document of an example manifest, mutated as a tree (fields removed, replaced by null,
   * numbers, strings, empty or null-holding lists; entries added or duplicated) and written back as
   * YAML or JSON: reaches the decoders and validators with objects that are nearly right.
   */
  @FuzzTest(maxDuration = "3m")
  void decodeMutatedManifest(FuzzedDataProvider data) {
    JsonNode document = data.pickValue(Base.DOCUMENTS).deepCopy();
    JsonTreeMutator.mutate(document, data, 8);
    String text =
        data.consumeBoolean()
            ? YAML.writeValueAsString(document)
            : JSON.writeValueAsString(document);
    check(text);
  }

  /** Parses, decodes and applies {@code content} as one file; fails on any broken contract. */
  static void check(String content) {
    List<ManifestParser.Document> documents;
    try {
      documents = PARSER.parse(content);
    } catch (ManifestParser.SyntaxError e) {
      requireText(e.getMessage());
      return;
    }
    RegistrySource source = new RegistrySource("fuzz", null, new ResourceDecoder());
    List<Mutation> batch = new ArrayList<>();
    for (ManifestParser.Document document : documents) {
      requireText(document.position());
      if (document instanceof ManifestParser.Parsed parsed) {
        if (!ResourceDecoder.keyOf(parsed.object()).orElseThrow().equals(parsed.key())) {
          throw new AssertionError(parsed.key() + " decodes under another key");
        }
        source.addUpsert(batch, "fuzz", parsed.key(), parsed.object());
      } else if (document instanceof ManifestParser.Malformed malformed) {
        requireErrors(malformed.errors());
        batch.add(
            new Mutation.Reject(
                new Rejection("fuzz", malformed.key().toString(), malformed.errors())));
      } else if (document instanceof ManifestParser.Unreadable unreadable) {
        requireErrors(unreadable.errors());
      }
    }
    for (Mutation mutation : batch) {
      if (mutation instanceof Mutation.Reject reject) {
        requireErrors(reject.rejection().errors());
      }
    }
    StateWriter writer = new StateWriter();
    batch.forEach(writer::apply);
    writer.synced(true);
    writer.publish();
  }

  private static void requireErrors(List<FieldError> errors) {
    if (errors.isEmpty()) {
      throw new AssertionError("a rejection without a reason");
    }
    errors.forEach(error -> requireText(error.reason()));
  }

  private static void requireText(String message) {
    if (message == null || message.isBlank()) {
      throw new AssertionError("an error without a message");
    }
  }

  private static List<JsonNode> load() {
    List<JsonNode> documents = new ArrayList<>();
    for (String name : MANIFESTS) {
      try (InputStream in =
          ManifestFuzzTest.class.getResourceAsStream(
              "ManifestFuzzTestInputs/parseArbitraryYaml/" + name)) {
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        for (String part : DOCUMENT_SEPARATOR.splitAsStream(text).toList()) {
          JsonNode node = YAML.readTree(part);
          if (node != null && node.isObject()) {
            documents.add(node);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return List.copyOf(documents);
  }
}
