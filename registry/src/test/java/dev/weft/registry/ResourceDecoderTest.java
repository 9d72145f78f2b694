package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Input that used to throw out of decoding (and with it out of a source), or to be accepted when it
 * should not be, is refused with the field errors a user sees in the rejection.
 */
class ResourceDecoderTest {

  private final ManifestParser parser = new ManifestParser();
  private final ResourceDecoder decoder = new ResourceDecoder();

  @Test
  void emptyListItemsAreRequired() throws ManifestParser.SyntaxError {
    assertThat(
            errorsOf(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: reviews, namespace: shop}
                spec:
                  ports:
                    -
                    - {name: http, port: 80}
                """))
        .containsExactly("spec.ports[0]: required");
    assertThat(
            errorsOf(
                """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: reviews-abc
                  namespace: shop
                  labels: {kubernetes.io/service-name: reviews}
                addressType: IPv4
                ports: [null]
                endpoints:
                  -
                  - addresses: ["10.0.0.1", null]
                """))
        .containsExactly(
            "ports[0]: required", "endpoints[0]: required", "endpoints[1].addresses[1]: required");
    assertThat(
            errorsOf(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: reviews, namespace: shop}
                spec:
                  parentRefs: [null, {group: "", kind: Service, name: reviews}]
                  rules:
                    - matches:
                        -
                      backendRefs: [null]
                """))
        .containsExactly(
            "spec.parentRefs[0]: required",
            "spec.rules[0].matches[0]: required",
            "spec.rules[0].backendRefs[0]: required");
  }

  @Test
  void aLabelWithoutAValueIsRefused() throws ManifestParser.SyntaxError {
    // "version:v1" without a space is one YAML key, "version:v1", with no value.
    String expected =
        "metadata.labels[version:v1]: must be a string, not null; did you mean \"version: v1\"?"
            + " In YAML a colon needs a space after it";
    assertThat(
            errorsOf(
                """
                apiVersion: v1
                kind: Service
                metadata:
                  name: reviews
                  namespace: shop
                  labels: {app: b, version:v1}
                spec:
                  ports: [{name: http, port: 80}]
                """))
        .containsExactly(expected);
    assertThat(
            errorsOf(
                """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: reviews-0
                  namespace: shop
                  labels: {app: b, version:v1}
                """))
        .containsExactly(expected);
    assertThat(
            errorsOf(
                """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: reviews-0
                  namespace: shop
                  labels:
                    version:
                """))
        .containsExactly(
            "metadata.labels[version]: must be a string, not null (\"\" for an empty value)");
  }

  @Test
  void aTargetPortTooLargeForAnIntIsNotAPort() throws ManifestParser.SyntaxError {
    assertThat(errorsOf(serviceWithTargetPort("\"99999999999\"")))
        .containsExactly("spec.ports[0].targetPort: 99999999999 is not a port number (1..65535)");
  }

  @Test
  void aTargetPortIsANumberOnlyInTheDigitsZeroToNine() throws ManifestParser.SyntaxError {
    // Arabic-Indic digits: Character.isDigit and Integer.parseInt read them as 8080.
    assertThat(errorsOf(serviceWithTargetPort("\"٨٠٨٠\"")))
        .containsExactly(
            "spec.ports[0].targetPort: \"٨٠٨٠\" is not a valid port name (at most 15 lowercase"
                + " letters, digits and '-')");

    MeshService service = decodeService(serviceWithTargetPort("\"8080\""));
    assertThat(service.ports().get(0).targetPort()).isEqualTo("8080");
  }

  private static String serviceWithTargetPort(String targetPort) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: shop}
        spec:
          ports: [{name: http, port: 80, targetPort: %s}]
        """
        .formatted(targetPort);
  }

  /** The errors of the one object in {@code yaml}, as a rejection shows them. */
  private List<String> errorsOf(String yaml) throws ManifestParser.SyntaxError {
    return decode(yaml).errors().stream().map(FieldError::toString).toList();
  }

  private MeshService decodeService(String yaml) throws ManifestParser.SyntaxError {
    Validated<Mutation> decoded = decode(yaml);
    assertThat(decoded.errors()).isEmpty();
    return ((Mutation.PutService) ((Validated.Valid<Mutation>) decoded).value()).service();
  }

  private Validated<Mutation> decode(String yaml) throws ManifestParser.SyntaxError {
    List<ManifestParser.Document> documents = parser.parse(yaml);
    assertThat(documents).hasSize(1).first().isInstanceOf(ManifestParser.Parsed.class);
    ManifestParser.Parsed parsed = (ManifestParser.Parsed) documents.get(0);
    return decoder.decode(parsed.key(), parsed.object());
  }
}
