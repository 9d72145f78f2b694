package dev.weft.controller;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.ca.Pem;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The Kubernetes API as the real {@code kubectl} binary needs it, in front of Fabric8's mock API
 * server in CRUD mode ({@link KubernetesCrudDispatcher}, which stores, lists and watches objects).
 * It exists because kubectl asks more of a server than that mock does, and a test that drives
 * kubectl itself must answer it:
 *
 * <ul>
 *   <li><b>Discovery</b> ({@code /api}, {@code /apis}, {@code /api/v1}, {@code
 *       /apis/GROUP/VERSION}, legacy form) and {@code /version}: kubectl maps a manifest's kind to
 *       its resource through them. Answered for the kinds in {@link #KINDS}.
 *   <li><b>A minimal OpenAPI v3</b> ({@code /openapi/v3} and one document per group version): each
 *       kind's PATCH operation, saying it takes the {@code fieldValidation} parameter, which is all
 *       kubectl reads from it to leave field validation to the server instead of validating on the
 *       client with the full schema. This server does no field validation: unknown fields are
 *       stored as sent. {@code /openapi/v2} is answered 404: kubectl reads it only to compute
 *       strategic-merge patches, and goes on without it.
 *   <li><b>PATCH done as the API server does it</b>: a JSON merge patch (RFC 7386; the mock's merge
 *       appends lists, where the RFC replaces them) or a JSON patch (RFC 6902) is applied here to
 *       the stored object, which is then admitted and stored as a PUT (with the stored {@code
 *       resourceVersion}, retried on a conflict). Strategic-merge and apply patches are refused
 *       with 415: kubectl sends merge patches for custom resources, strategic-merge ones for
 *       built-in kinds, which tests create through Fabric8's client; a half-done strategic merge
 *       would go wrong silently.
 *   <li><b>Validating admission</b>: every creation, update and patch that the rules of a stored
 *       ValidatingWebhookConfiguration match is POSTed to that webhook as an AdmissionReview v1
 *       over HTTPS, trusting the configuration's {@code caBundle} and nothing else; a refusal is
 *       answered with the webhook's status, its message worded as the API server words it ({@code
 *       admission webhook "NAME" denied the request: MESSAGE}). When the webhook cannot be called,
 *       {@code failurePolicy: Ignore} admits and {@code Fail} (the default) refuses.
 * </ul>
 *
 * <p>Not done: webhooks given by Service (only {@code clientConfig.url}), namespace and object
 * selectors, match conditions, mutating webhooks, dry runs, server-side apply. Everything else goes
 * to the mock as it came.
 *
 * <p>Thread-safety: its only state is the mock's store, which the mock locks.
 */
final class KubectlApiServer extends Dispatcher {

  /** The server version {@code /version} reports (kubectl's own minor version). */
  static final String GIT_VERSION = "v1.32.0";

  /** A kind the server serves: discovery and OpenAPI list it. */
  record Kind(
      String group,
      String version,
      String kind,
      String plural,
      boolean namespaced,
      boolean statusSubresource,
      boolean custom) {

    /** A built-in kind. */
    static Kind of(Class<? extends HasMetadata> type, boolean statusSubresource) {
      return new Kind(
          HasMetadata.getGroup(type),
          HasMetadata.getVersion(type),
          HasMetadata.getKind(type),
          HasMetadata.getPlural(type),
          Namespaced.class.isAssignableFrom(type),
          statusSubresource,
          false);
    }

    /** A kind a CustomResourceDefinition defines, with a status subresource. */
    static Kind custom(Class<? extends HasMetadata> type) {
      Kind kind = of(type, true);
      return new Kind(
          kind.group(), kind.version(), kind.kind(), kind.plural(), kind.namespaced(), true, true);
    }

    String groupVersion() {
      return group.isEmpty() ? version : group + "/" + version;
    }

    /**
     * {@code api/v1} or {@code apis/GROUP/VERSION}: discovery's and OpenAPI's path of the group.
     */
    String root() {
      return group.isEmpty() ? "api/" + version : "apis/" + group + "/" + version;
    }
  }

  /** The built-in kinds Weft reads or writes, the Gateway API's, and Weft's own. */
  static final List<Kind> KINDS =
      List.of(
          Kind.of(Namespace.class, true),
          Kind.of(Service.class, true),
          Kind.of(Pod.class, true),
          Kind.of(Secret.class, false),
          Kind.of(ConfigMap.class, false),
          Kind.of(EndpointSlice.class, false),
          Kind.of(Lease.class, false),
          Kind.of(ValidatingWebhookConfiguration.class, false),
          Kind.of(MutatingWebhookConfiguration.class, false),
          Kind.of(CustomResourceDefinition.class, true),
          Kind.custom(HTTPRoute.class),
          Kind.custom(GRPCRoute.class),
          Kind.custom(Gateway.class),
          Kind.custom(GatewayClass.class),
          Kind.custom(TrafficPolicy.class),
          Kind.custom(FaultPolicy.class),
          Kind.custom(AuthorizationPolicy.class),
          Kind.custom(MeshTLSPolicy.class),
          Kind.custom(RateLimitPolicy.class),
          Kind.custom(Telemetry.class));

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String MERGE_PATCH = "application/merge-patch+json";
  private static final String JSON_PATCH = "application/json-patch+json";
  private static final String WEBHOOK_CONFIGURATIONS =
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";

  /** How often a patch is retried when another write came between reading and storing. */
  private static final int PATCH_ATTEMPTS = 5;

  private final KubernetesCrudDispatcher store = new KubernetesCrudDispatcher();

  KubectlApiServer() {
    // Custom resources with a status subresource: a write of the object keeps the stored status,
    // and a write of /status only the status, as on a real API server.
    for (Kind kind : KINDS) {
      if (kind.custom()) {
        store.expectCustomResource(
            new CustomResourceDefinitionContext.Builder()
                .withGroup(kind.group())
                .withVersion(kind.version())
                .withKind(kind.kind())
                .withPlural(kind.plural())
                .withScope(kind.namespaced() ? "Namespaced" : "Cluster")
                .withStatusSubresource(true)
                .build());
      }
    }
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    try {
      String path = request.getPath().split("\\?", 2)[0];
      switch (request.method()) {
        case GET:
          if (path.equals("/openapi/v2")) {
            // kubectl reads it only to compute strategic-merge patches, ignoring a failure.
            return status(404, "NotFound", "this test API server serves OpenAPI v3 only");
          }
          Optional<JsonNode> document = document(path);
          return document.isPresent() ? json(200, document.get()) : store.dispatch(request);
        case POST:
          return create(request, path);
        case PUT:
          return update(request, path);
        case PATCH:
          return patch(request, path);
        default:
          return store.dispatch(request);
      }
    } catch (RuntimeException e) {
      return status(500, "InternalError", "the test API server failed: " + e);
    }
  }

  // ---- discovery, /version, OpenAPI ------------------------------------------------------------

  /** What the server itself answers to a GET of {@code path}, if anything. */
  private static Optional<JsonNode> document(String path) {
    if (path.equals("/version")) {
      return Optional.of(
          JSON.createObjectNode()
              .put("major", "1")
              .put("minor", GIT_VERSION.split("\\.")[1])
              .put("gitVersion", GIT_VERSION)
              .put("platform", "linux/amd64"));
    }
    if (path.equals("/api")) {
      ObjectNode versions = JSON.createObjectNode().put("kind", "APIVersions");
      versions.putArray("versions").add("v1");
      return Optional.of(versions);
    }
    if (path.equals("/apis")) {
      return Optional.of(groups());
    }
    if (path.equals("/openapi/v3")) {
      return Optional.of(openApiIndex());
    }
    Map<String, List<Kind>> byRoot = byRoot();
    if (byRoot.containsKey(path.substring(1))) {
      return Optional.of(resources(byRoot.get(path.substring(1))));
    }
    String openApi = "/openapi/v3/";
    if (path.startsWith(openApi) && byRoot.containsKey(path.substring(openApi.length()))) {
      return Optional.of(openApi(byRoot.get(path.substring(openApi.length()))));
    }
    return Optional.empty();
  }

  private static Map<String, List<Kind>> byRoot() {
    return KINDS.stream()
        .collect(Collectors.groupingBy(Kind::root, LinkedHashMap::new, Collectors.toList()));
  }

  private static JsonNode groups() {
    ObjectNode list = JSON.createObjectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
    ArrayNode groups = list.putArray("groups");
    Map<String, List<Kind>> byRoot = byRoot();
    for (List<Kind> kinds : byRoot.values()) {
      Kind first = kinds.get(0);
      if (first.group().isEmpty()) {
        continue;
      }
      ObjectNode group = groups.addObject().put("name", first.group());
      ObjectNode version =
          JSON.createObjectNode()
              .put("groupVersion", first.groupVersion())
              .put("version", first.version());
      group.putArray("versions").add(version);
      group.set("preferredVersion", version.deepCopy());
    }
    return list;
  }

  private static JsonNode resources(List<Kind> kinds) {
    ObjectNode list =
        JSON.createObjectNode()
            .put("kind", "APIResourceList")
            .put("apiVersion", "v1")
            .put("groupVersion", kinds.get(0).groupVersion());
    ArrayNode resources = list.putArray("resources");
    for (Kind kind : kinds) {
      ObjectNode resource =
          resources
              .addObject()
              .put("name", kind.plural())
              .put("singularName", kind.kind().toLowerCase(Locale.ROOT))
              .put("namespaced", kind.namespaced())
              .put("kind", kind.kind());
      ArrayNode verbs = resource.putArray("verbs");
      for (String verb :
          List.of("create", "delete", "deletecollection", "get", "list", "patch", "update")) {
        verbs.add(verb);
      }
      verbs.add("watch");
      if (kind.statusSubresource()) {
        ObjectNode status =
            resources
                .addObject()
                .put("name", kind.plural() + "/status")
                .put("singularName", "")
                .put("namespaced", kind.namespaced())
                .put("kind", kind.kind());
        status.putArray("verbs").add("get").add("patch").add("update");
      }
    }
    return list;
  }

  private static JsonNode openApiIndex() {
    ObjectNode index = JSON.createObjectNode();
    ObjectNode paths = index.putObject("paths");
    for (String root : byRoot().keySet()) {
      paths.putObject(root).put("serverRelativeURL", "/openapi/v3/" + root + "?hash=weft");
    }
    return index;
  }

  /**
   * One group version's OpenAPI document, as little of it as kubectl reads: each kind's PATCH
   * operation, its group-version-kind, and that it takes the {@code fieldValidation} parameter.
   */
  private static JsonNode openApi(List<Kind> kinds) {
    ObjectNode document = JSON.createObjectNode().put("openapi", "3.0.0");
    document.putObject("info").put("title", "Kubernetes").put("version", GIT_VERSION);
    ObjectNode paths = document.putObject("paths");
    for (Kind kind : kinds) {
      String path =
          "/"
              + kind.root()
              + (kind.namespaced() ? "/namespaces/{namespace}/" : "/")
              + kind.plural()
              + "/{name}";
      ObjectNode patch = paths.putObject(path).putObject("patch");
      patch.put("operationId", "patch" + kind.kind()).put("x-kubernetes-action", "patch");
      patch
          .putObject("x-kubernetes-group-version-kind")
          .put("group", kind.group())
          .put("version", kind.version())
          .put("kind", kind.kind());
      patch
          .putArray("parameters")
          .addObject()
          .put("name", "fieldValidation")
          .put("in", "query")
          .putObject("schema")
          .put("type", "string");
      patch.putObject("responses").putObject("200").put("description", "OK");
    }
    document.putObject("components").putObject("schemas");
    return document;
  }

  // ---- writes ----------------------------------------------------------------------------------

  /**
   * Where a write goes: its group, version, resource and subresource, namespace and name (null when
   * absent).
   */
  record Target(
      String group,
      String version,
      String resource,
      String subresource,
      String namespace,
      String name) {

    /** The target of a path under {@code /api/v1} or {@code /apis/GROUP/VERSION}, if it is one. */
    static Optional<Target> of(String path) {
      List<String> segments = new ArrayList<>(List.of(path.replaceFirst("^/", "").split("/")));
      String group;
      if (segments.size() >= 3 && segments.get(0).equals("api")) {
        group = "";
        segments = segments.subList(1, segments.size());
      } else if (segments.size() >= 4 && segments.get(0).equals("apis")) {
        group = segments.get(1);
        segments = segments.subList(2, segments.size());
      } else {
        return Optional.empty();
      }
      String version = segments.get(0);
      List<String> rest = segments.subList(1, segments.size());
      String namespace = null;
      if (rest.size() >= 3 && rest.get(0).equals("namespaces")) {
        namespace = rest.get(1);
        rest = rest.subList(2, rest.size());
      }
      if (rest.isEmpty() || rest.size() > 3) {
        return Optional.empty();
      }
      return Optional.of(
          new Target(
              group,
              version,
              rest.get(0),
              rest.size() == 3 ? rest.get(2) : null,
              namespace,
              rest.size() >= 2 ? rest.get(1) : null));
    }

    /** The object's path, without subresource or query. */
    String objectPath() {
      return "/"
          + (group.isEmpty() ? "api/" + version : "apis/" + group + "/" + version)
          + (namespace == null ? "" : "/namespaces/" + namespace)
          + "/"
          + resource
          + "/"
          + name;
    }
  }

  private MockResponse create(RecordedRequest request, String path) {
    Optional<Target> target = Target.of(path);
    if (target.isEmpty() || target.get().name() != null) {
      return store.dispatch(request);
    }
    ObjectNode object;
    try {
      object = (ObjectNode) JSON.readTree(request.getBody().getBytes());
    } catch (JacksonException | ClassCastException e) {
      return status(400, "BadRequest", "the body is not a JSON object: " + e.getMessage());
    }
    if (target.get().namespace() != null && object.at("/metadata/namespace").isMissingNode()) {
      // As the API server does before admission: the namespace comes from the path.
      object.withObjectProperty("metadata").put("namespace", target.get().namespace());
    }
    Optional<MockResponse> refused = admit("CREATE", target.get(), object, null);
    return refused.orElseGet(() -> store.dispatch(request));
  }

  private MockResponse update(RecordedRequest request, String path) {
    Optional<Target> target = Target.of(path);
    if (target.isEmpty() || target.get().name() == null) {
      return store.dispatch(request);
    }
    JsonNode object;
    try {
      object = JSON.readTree(request.getBody().getBytes());
    } catch (JacksonException e) {
      return status(400, "BadRequest", "the body is not JSON: " + e.getMessage());
    }
    Optional<JsonNode> stored = stored(target.get());
    if (stored.isEmpty()) {
      return store.dispatch(request); // the mock's 404
    }
    Optional<MockResponse> refused = admit("UPDATE", target.get(), object, stored.get());
    return refused.orElseGet(() -> store.dispatch(request));
  }

  private MockResponse patch(RecordedRequest request, String path) {
    Optional<Target> target = Target.of(path);
    if (target.isEmpty() || target.get().name() == null) {
      return status(404, "NotFound", "PATCH " + path + ": not an object's path");
    }
    String contentType = request.getHeader("Content-Type");
    String mediaType =
        contentType == null ? "" : contentType.split(";")[0].trim().toLowerCase(Locale.ROOT);
    if (!mediaType.equals(MERGE_PATCH) && !mediaType.equals(JSON_PATCH)) {
      return status(
          415,
          "UnsupportedMediaType",
          "PATCH with Content-Type "
              + contentType
              + " is not done by this test API server: it applies "
              + MERGE_PATCH
              + " and "
              + JSON_PATCH
              + " only (strategic merge and server-side apply are not implemented)");
    }
    JsonNode patch;
    try {
      patch = JSON.readTree(request.getBody().getBytes());
    } catch (JacksonException e) {
      return status(400, "BadRequest", "the patch is not JSON: " + e.getMessage());
    }
    boolean patchSetsVersion = !patch.at("/metadata/resourceVersion").isMissingNode();
    MockResponse stored = null;
    for (int attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      Optional<JsonNode> current = stored(target.get());
      if (current.isEmpty()) {
        return status(
            404,
            "NotFound",
            target.get().resource() + " \"" + target.get().name() + "\" not found");
      }
      JsonNode patched;
      try {
        patched =
            mediaType.equals(MERGE_PATCH)
                ? mergePatch(current.get(), patch)
                : JsonPatch.apply(patch, current.get());
      } catch (RuntimeException e) {
        return status(422, "Invalid", "the patch does not apply: " + e.getMessage());
      }
      if (!patched.isObject()) {
        return status(422, "Invalid", "the patch does not leave an object");
      }
      if (!patchSetsVersion) {
        ((ObjectNode) patched)
            .withObjectProperty("metadata")
            .set("resourceVersion", current.get().at("/metadata/resourceVersion"));
      }
      Optional<MockResponse> refused = admit("UPDATE", target.get(), patched, current.get());
      if (refused.isPresent()) {
        return refused.get();
      }
      stored =
          store.dispatch(
              new RecordedRequest(
                  "HTTP/1.1",
                  HttpMethod.PUT,
                  path,
                  Headers.builder().add("Content-Type", "application/json").build(),
                  new Buffer(JSON.writeValueAsBytes(patched))));
      if (stored.code() != 409 || patchSetsVersion) {
        return stored;
      }
    }
    return stored;
  }

  /** RFC 7386: objects merge member by member, null removes, anything else (lists) replaces. */
  static JsonNode mergePatch(JsonNode target, JsonNode patch) {
    if (!patch.isObject()) {
      return patch.deepCopy();
    }
    ObjectNode result =
        target != null && target.isObject()
            ? ((ObjectNode) target).deepCopy()
            : JSON.createObjectNode();
    for (Map.Entry<String, JsonNode> member : patch.properties()) {
      if (member.getValue().isNull()) {
        result.remove(member.getKey());
      } else {
        result.set(member.getKey(), mergePatch(result.get(member.getKey()), member.getValue()));
      }
    }
    return result;
  }

  private Optional<JsonNode> stored(Target target) {
    MockResponse response = store.handleGet(target.objectPath());
    if (response.code() != 200) {
      return Optional.empty();
    }
    return Optional.of(JSON.readTree(response.getBody().getBytes()));
  }

  // ---- admission -------------------------------------------------------------------------------

  /** Calls every validating webhook whose rules match; the first refusal, if one refuses. */
  private Optional<MockResponse> admit(
      String operation, Target target, JsonNode object, JsonNode oldObject) {
    MockResponse response = store.handleGet(WEBHOOK_CONFIGURATIONS);
    JsonNode configurations = JSON.readTree(response.getBody().getBytes()).path("items");
    for (JsonNode configuration : configurations) {
      for (JsonNode webhook : configuration.path("webhooks")) {
        if (matches(webhook.path("rules"), operation, target)) {
          Optional<MockResponse> refused = call(webhook, operation, target, object, oldObject);
          if (refused.isPresent()) {
            return refused;
          }
        }
      }
    }
    return Optional.empty();
  }

  private static boolean matches(JsonNode rules, String operation, Target target) {
    for (JsonNode rule : rules) {
      if (contains(rule.path("operations"), operation)
          && contains(rule.path("apiGroups"), target.group())
          && contains(rule.path("apiVersions"), target.version())
          && matchesResource(rule.path("resources"), target)) {
        return true;
      }
    }
    return false;
  }

  private static boolean contains(JsonNode values, String value) {
    for (JsonNode each : values) {
      if (each.asString().equals("*") || each.asString().equals(value)) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code *} is every resource, not their subresources; {@code R/S}, {@code R/*}, {@code *\/S}.
   */
  private static boolean matchesResource(JsonNode resources, Target target) {
    for (JsonNode each : resources) {
      String[] parts = each.asString().split("/", 2);
      boolean resource = parts[0].equals("*") || parts[0].equals(target.resource());
      boolean subresource =
          parts.length == 1
              ? target.subresource() == null
              : parts[1].equals("*") || parts[1].equals(target.subresource());
      if (resource && subresource) {
        return true;
      }
    }
    return false;
  }

  /**
   * POSTs one AdmissionReview to a webhook; its refusal, as the API server words it. Runs on the
   * mock's event loop, which the call blocks: a webhook that called this API server back would wait
   * for itself (Weft's does not).
   */
  private static Optional<MockResponse> call(
      JsonNode webhook, String operation, Target target, JsonNode object, JsonNode oldObject) {
    String name = webhook.path("name").asString();
    String uid = UUID.randomUUID().toString();
    JsonNode answer;
    try {
      answer = review(webhook, uid, operation, target, object, oldObject);
    } catch (IOException | RuntimeException e) {
      if (webhook.path("failurePolicy").asString("Fail").equals("Ignore")) {
        return Optional.empty();
      }
      return Optional.of(
          status(
              500,
              "InternalError",
              "Internal error occurred: failed calling webhook \""
                  + name
                  + "\": failed to call webhook: "
                  + e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of(status(500, "InternalError", "interrupted calling webhook " + name));
    }
    if (answer.path("allowed").asBoolean(false)) {
      return Optional.empty();
    }
    JsonNode result = answer.path("status");
    int code = result.path("code").asInt(0);
    String message = result.path("message").asString("");
    String reason = result.path("reason").asString("");
    String denied = "admission webhook \"" + name + "\" denied the request";
    return Optional.of(
        status(
            code < 400 ? 400 : code,
            reason,
            !message.isEmpty()
                ? denied + ": " + message
                : !reason.isEmpty() ? denied + ": " + reason : denied + " without explanation"));
  }

  private static JsonNode review(
      JsonNode webhook,
      String uid,
      String operation,
      Target target,
      JsonNode object,
      JsonNode oldObject)
      throws IOException, InterruptedException {
    JsonNode clientConfig = webhook.path("clientConfig");
    String url = clientConfig.path("url").asString("");
    if (url.isEmpty()) {
      throw new IOException("no clientConfig.url: this test API server calls webhooks by URL only");
    }
    String bundle = clientConfig.path("caBundle").asString("");
    if (bundle.isEmpty()) {
      throw new IOException("no clientConfig.caBundle to verify the webhook's certificate with");
    }
    int timeoutSeconds = webhook.path("timeoutSeconds").asInt(10);
    HttpClient client;
    try {
      client =
          HttpClient.newBuilder()
              .sslContext(
                  AdmissionWebhooksTest.trusting(
                      Pem.parseCertificates(new String(Base64.getDecoder().decode(bundle), UTF_8))))
              .connectTimeout(Duration.ofSeconds(timeoutSeconds))
              .build();
    } catch (Exception e) {
      throw new IOException("caBundle: " + e.getMessage(), e);
    }
    ObjectNode review =
        JSON.createObjectNode()
            .put("apiVersion", "admission.k8s.io/v1")
            .put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request").put("uid", uid);
    ObjectNode kind =
        request
            .putObject("kind")
            .put("group", target.group())
            .put("version", target.version())
            .put("kind", object.path("kind").asString());
    ObjectNode resource =
        request
            .putObject("resource")
            .put("group", target.group())
            .put("version", target.version())
            .put("resource", target.resource());
    request.set("requestKind", kind.deepCopy());
    request.set("requestResource", resource.deepCopy());
    if (target.subresource() != null) {
      request.put("subResource", target.subresource());
    }
    request.put("name", object.at("/metadata/name").asString(""));
    if (target.namespace() != null) {
      request.put("namespace", target.namespace());
    }
    request.put("operation", operation);
    request.putObject("userInfo").put("username", "kubectl-end-to-end");
    request.set("object", object);
    request.set("oldObject", oldObject);
    request.put("dryRun", false);
    request
        .putObject("options")
        .put("apiVersion", "meta.k8s.io/v1")
        .put("kind", operation.equals("CREATE") ? "CreateOptions" : "UpdateOptions");
    HttpResponse<byte[]> response =
        client.send(
            HttpRequest.newBuilder(URI.create(url + "?timeout=" + timeoutSeconds + "s"))
                .timeout(Duration.ofSeconds(timeoutSeconds))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(review)))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw new IOException(
          "HTTP " + response.statusCode() + ": " + new String(response.body(), UTF_8).trim());
    }
    JsonNode answer = JSON.readTree(response.body()).path("response");
    if (!answer.path("uid").asString("").equals(uid)) {
      throw new IOException("the answer's response.uid is not the request's " + uid);
    }
    return answer;
  }

  // ---- answers ---------------------------------------------------------------------------------

  private static MockResponse json(int code, JsonNode body) {
    return new MockResponse()
        .setResponseCode(code)
        .setHeader("Content-Type", "application/json")
        .setBody(JSON.writeValueAsString(body));
  }

  /** A refusal as the API server answers one: a {@code Status} object. */
  private static MockResponse status(int code, String reason, String message) {
    ObjectNode status =
        JSON.createObjectNode()
            .put("kind", "Status")
            .put("apiVersion", "v1")
            .put("status", "Failure")
            .put("message", message)
            .put("reason", reason)
            .put("code", code);
    status.putObject("metadata");
    return json(code, status);
  }
}
