package dev.weft.registry;

import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.api.validation.FieldError;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonToken;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.util.TokenBuffer;
import tools.jackson.dataformat.yaml.YAMLMapper;
import tools.jackson.dataformat.yaml.YAMLParser;

/**
 * Parses multi-document Kubernetes YAML into typed objects, reporting every problem with the
 * document's position and the field at fault.
 *
 * <p>Thread-safe: the mappers are immutable once built.
 */
final class ManifestParser {

  private static final String MERGE_KEY = "<<";

  // Documents are read one at a time from one parser: the next document is not a trailing token.
  private final YAMLMapper yaml =
      YAMLMapper.builder().disable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
  private final KubernetesSerialization kubernetes = new KubernetesSerialization();

  /** One document of a file: a typed object, or the reasons it could not become one. */
  sealed interface Document {
    /** Where the document starts, for messages: {@code document 2 (line 14)}. */
    String position();
  }

  /** A document that is an object of a kind the registry reads. */
  record Parsed(String position, ObjectKey key, HasMetadata object) implements Document {}

  /**
   * A document whose fields do not fit its kind's schema; its identity is known, so its last good
   * version can keep serving.
   */
  record Malformed(String position, ObjectKey key, List<FieldError> errors) implements Document {}

  /**
   * A document that is not something the registry reads. When {@code identified} is false it may
   * have been one of the registry's objects (its kind or name is missing), so the objects its file
   * held before must not be deleted on its account.
   */
  record Unreadable(String position, boolean identified, List<FieldError> errors)
      implements Document {}

  /**
   * A file that is not YAML at all, or uses YAML that Weft refuses (anchors, aliases, merge keys);
   * nothing in it can be trusted.
   */
  static final class SyntaxError extends Exception {
    private static final long serialVersionUID = 1L;

    SyntaxError(String message, Throwable cause) {
      super(message, cause);
    }

    SyntaxError(String message) {
      super(message);
    }
  }

  /**
   * Parses every document in {@code content}, or fails on a syntax error, an anchor, an alias or a
   * merge key anywhere in it.
   */
  List<Document> parse(String content) throws SyntaxError {
    List<Document> documents = new ArrayList<>();
    try (YAMLParser parser = (YAMLParser) yaml.createParser(content)) {
      int index = 0;
      JsonToken token;
      while ((token = parser.nextToken()) != null) {
        index++;
        TokenStreamLocation start = parser.currentTokenLocation();
        String position = "document " + index + " (line " + start.getLineNr() + ")";
        if (token == JsonToken.VALUE_NULL) {
          continue; // an empty document, such as a trailing "---"
        }
        documents.add(toDocument(position, readDocument(parser)));
      }
    } catch (JacksonException e) {
      TokenStreamLocation at = e.getLocation();
      String where =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      String message = e.getOriginalMessage().replaceAll("\\s+", " ").trim();
      throw new SyntaxError("YAML syntax error" + where + ": " + message, e);
    }
    return documents;
  }

  /**
   * Reads the document that starts at the parser's current token, refusing anchors, aliases and
   * merge keys on the way.
   *
   * <p>Jackson's streaming YAML parser does not resolve them: it reads an alias as a string, the
   * anchor's name, and {@code <<} as an ordinary key. kubectl resolves them, so a manifest that
   * uses them would mean one thing to Kubernetes and another to Weft ({@code serviceAccountName:
   * *sa} would be the account "sa", a wrong workload identity). Kubernetes manifests rarely use
   * them; refusing them with their position is better than misreading them. The parser does not
   * report an anchor on a single value ({@code namespace: &ns shop}), which is harmless: only an
   * alias could use it, and aliases are refused.
   */
  private JsonNode readDocument(YAMLParser parser) throws SyntaxError {
    // Each token is checked, then buffered for readTree: the YAML is still parsed once.
    try (TokenBuffer document = TokenBuffer.forBuffering(parser, parser.objectReadContext())) {
      int depth = 0;
      do {
        refuseReference(parser);
        document.copyCurrentEvent(parser);
        JsonToken token = parser.currentToken();
        depth += token.isStructStart() ? 1 : token.isStructEnd() ? -1 : 0;
      } while (depth > 0 && parser.nextToken() != null);
      return yaml.readTree(document);
    }
  }

  private static void refuseReference(YAMLParser parser) throws SyntaxError {
    String reference;
    if (parser.isCurrentAlias()) {
      reference = "alias *" + parser.getString();
    } else if (parser.getObjectId() != null) {
      reference = "anchor &" + parser.getObjectId();
    } else if (parser.currentToken() == JsonToken.PROPERTY_NAME
        && MERGE_KEY.equals(parser.currentName())) {
      // A quoted "<<" is refused too: the parser does not tell it apart, and no field is so named.
      reference = "merge key " + MERGE_KEY;
    } else {
      return;
    }
    TokenStreamLocation at = parser.currentTokenLocation();
    throw new SyntaxError(
        "YAML "
            + reference
            + " at line "
            + at.getLineNr()
            + ", column "
            + at.getColumnNr()
            + ": anchors (&), aliases (*) and merge keys (<<) are not supported; write the values"
            + " out in full");
  }

  private Document toDocument(String position, JsonNode node) {
    if (!node.isObject()) {
      return new Unreadable(
          position, false, List.of(new FieldError("", "a document must be a mapping (an object)")));
    }
    String apiVersion = text(node, "apiVersion");
    String kind = text(node, "kind");
    List<FieldError> missing = new ArrayList<>();
    if (apiVersion == null) {
      missing.add(new FieldError("apiVersion", "required"));
    }
    if (kind == null) {
      missing.add(new FieldError("kind", "required"));
    }
    if (!missing.isEmpty()) {
      return new Unreadable(position, false, missing);
    }
    Optional<ResourceKind> resourceKind = ResourceKind.of(apiVersion, kind);
    if (resourceKind.isEmpty()) {
      return new Unreadable(
          position,
          true,
          List.of(
              new FieldError(
                  "kind",
                  apiVersion
                      + " "
                      + kind
                      + " is not a kind Weft reads; supported: "
                      + ResourceKind.supported())));
    }
    JsonNode metadata = node.get("metadata");
    String name = metadata == null ? null : text(metadata, "name");
    if (name == null || name.isEmpty()) {
      return new Unreadable(position, false, List.of(new FieldError("metadata.name", "required")));
    }
    String namespace = text(metadata, "namespace");
    ObjectKey key =
        new ObjectKey(
            resourceKind.get(),
            resourceKind.get().clusterScoped()
                ? ""
                : namespace == null ? ResourceDecoder.DEFAULT_NAMESPACE : namespace,
            name);
    HasMetadata object;
    try {
      object = kubernetes.convertValue(node, javaType(resourceKind.get()));
    } catch (IllegalArgumentException | JacksonException e) {
      return new Malformed(position, key, List.of(mappingError(e)));
    }
    if (!key.kind().clusterScoped()) {
      object.getMetadata().setNamespace(key.namespace());
    }
    return new Parsed(position, key, object);
  }

  private static Class<? extends HasMetadata> javaType(ResourceKind kind) {
    return switch (kind) {
      case SERVICE -> Service.class;
      case ENDPOINT_SLICE -> EndpointSlice.class;
      case POD -> Pod.class;
      case HTTP_ROUTE -> HTTPRoute.class;
      case GRPC_ROUTE -> GRPCRoute.class;
      case TRAFFIC_POLICY -> TrafficPolicy.class;
      case FAULT_POLICY -> FaultPolicy.class;
      case AUTHORIZATION_POLICY -> AuthorizationPolicy.class;
      case MESH_TLS_POLICY -> MeshTLSPolicy.class;
      case RATE_LIMIT_POLICY -> RateLimitPolicy.class;
      case TELEMETRY -> Telemetry.class;
      case GATEWAY -> Gateway.class;
      case GATEWAY_CLASS -> GatewayClass.class;
      case SECRET -> Secret.class;
    };
  }

  /** Turns a data-binding failure into the field path a user wrote, such as spec.ports[0].port. */
  private static FieldError mappingError(Exception failure) {
    Throwable cause = failure;
    while (cause != null && !(cause instanceof JacksonException)) {
      cause = cause.getCause();
    }
    if (!(cause instanceof JacksonException jackson)) {
      return new FieldError("", String.valueOf(failure.getMessage()));
    }
    StringBuilder path = new StringBuilder();
    for (JacksonException.Reference reference : jackson.getPath()) {
      if (reference.getPropertyName() != null) {
        if (path.length() > 0) {
          path.append('.');
        }
        path.append(reference.getPropertyName());
      } else if (reference.getIndex() >= 0) {
        path.append('[').append(reference.getIndex()).append(']');
      }
    }
    String message = jackson.getOriginalMessage();
    int newline = message.indexOf('\n');
    return new FieldError(path.toString(), newline < 0 ? message : message.substring(0, newline));
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asString();
  }
}
