package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * YAML anchors, aliases and merge keys are refused with their position: the parser under Weft does
 * not resolve them, so it would read {@code serviceAccountName: *sa} as the account "sa".
 */
class ManifestParserTest {

  private static final String NOT_SUPPORTED =
      ": anchors (&), aliases (*) and merge keys (<<) are not supported; write the values out in"
          + " full";

  private final ManifestParser parser = new ManifestParser();

  @Test
  void anAnchorIsRefusedWhereItIs() {
    assertRefused(
        """
        apiVersion: v1
        kind: Pod
        metadata: &meta
          name: web-0
          namespace: shop
        """,
        "YAML anchor &meta at line 3, column 11");
  }

  @Test
  void anAliasIsRefusedWhereItIs() {
    // The parser does not report an anchor on a single value; the alias that uses it is refused.
    assertRefused(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-0
          namespace: &ns shop
        spec:
          serviceAccountName: *ns
        """,
        "YAML alias *ns at line 7, column 23");
  }

  @Test
  void aMergeKeyIsRefusedWhereItIs() {
    assertRefused(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: shop}
        spec:
          <<: {clusterIP: 10.96.0.30}
          ports: [{name: http, port: 80}]
        """,
        "YAML merge key << at line 5, column 3");
  }

  @Test
  void quotedAsterisksAndAmpersandsAreJustText() throws ManifestParser.SyntaxError {
    List<ManifestParser.Document> documents =
        parser.parse(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: open, namespace: shop}
            spec:
              targetRefs: [{group: "", kind: Service, name: reviews}]
              rules:
              - from: [{principals: ["*"]}]
                when: [{header: x-tenant, values: ["&acme", "*ops"]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: shop}
            spec:
              ports: [{name: http, port: 80}]
            """);

    assertThat(documents).hasSize(2).allMatch(ManifestParser.Parsed.class::isInstance);
  }

  private void assertRefused(String yaml, String reference) {
    assertThatThrownBy(() -> parser.parse(yaml))
        .isInstanceOf(ManifestParser.SyntaxError.class)
        .hasMessage(reference + NOT_SUPPORTED);
  }
}
