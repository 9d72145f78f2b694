package dev.weft.cluster;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A request to the Kubernetes API server in the terms RBAC decides on, as the API server's request
 * info resolver derives them from the HTTP request.
 *
 * @param verb get, list, watch, create, update, patch, delete or deletecollection; for a
 *     non-resource request the HTTP method in lower case
 * @param apiGroup "" for the core group; null for a non-resource request
 * @param resource the plural resource, with "/subresource" when there is one; null for a
 *     non-resource request
 * @param namespace null for cluster-scoped resources and for requests across all namespaces
 * @param name the object's name; null for collections
 * @param nonResourcePath the path of a non-resource request (/version, /apis, ...); null otherwise
 */
record ApiRequest(
    String verb,
    String apiGroup,
    String resource,
    String namespace,
    String name,
    String nonResourcePath) {

  /** A resource request. */
  ApiRequest(String verb, String apiGroup, String resource, String namespace, String name) {
    this(verb, apiGroup, resource, namespace, name, null);
  }

  static ApiRequest nonResource(String verb, String path) {
    return new ApiRequest(verb, null, null, null, null, path);
  }

  boolean isResourceRequest() {
    return nonResourcePath == null;
  }

  /** Subresources of a Namespace object: /api/v1/namespaces/NAME/status is not a namespace. */
  private static final Set<String> NAMESPACE_SUBRESOURCES = Set.of("status", "finalize");

  /**
   * Maps an HTTP request to RBAC terms: {@code of("GET", "/api/v1/namespaces/shop/pods?watch=1")}
   * is a watch of pods in shop.
   */
  static ApiRequest of(String httpMethod, String pathAndQuery) {
    URI uri = URI.create(pathAndQuery);
    String path = uri.getPath();
    Map<String, String> query = query(uri.getRawQuery());
    String method = httpMethod.toUpperCase(Locale.ROOT);
    List<String> parts = new ArrayList<>();
    for (String part : path.split("/", -1)) {
      if (!part.isEmpty()) {
        parts.add(part);
      }
    }
    // /api/VERSION/... (the core group) or /apis/GROUP/VERSION/... followed by a resource;
    // anything shorter (/api, /apis/GROUP/VERSION: discovery) or else is a non-resource URL.
    int prefix =
        parts.isEmpty()
            ? 0
            : switch (parts.get(0)) {
              case "api" -> 2;
              case "apis" -> 3;
              default -> 0;
            };
    if (prefix == 0 || parts.size() <= prefix) {
      return nonResource(method.toLowerCase(Locale.ROOT), path);
    }
    String group = prefix == 2 ? "" : parts.get(1);
    List<String> rest = parts.subList(prefix, parts.size());
    boolean watch = "true".equals(query.get("watch")) || "1".equals(query.get("watch"));
    if (rest.get(0).equals("watch")) {
      // The old /api/v1/watch/... form.
      watch = true;
      rest = rest.subList(1, rest.size());
      if (rest.isEmpty()) {
        throw new IllegalArgumentException("no resource in " + pathAndQuery);
      }
    }
    String namespace = null;
    if (rest.get(0).equals("namespaces")
        && rest.size() > 2
        && !NAMESPACE_SUBRESOURCES.contains(rest.get(2))) {
      namespace = rest.get(1);
      rest = rest.subList(2, rest.size());
    }
    String resource = rest.size() > 2 ? rest.get(0) + "/" + rest.get(2) : rest.get(0);
    String name = rest.size() > 1 ? rest.get(1) : null;
    String verb =
        switch (method) {
          case "GET", "HEAD" -> watch ? "watch" : name == null ? "list" : "get";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> name == null ? "deletecollection" : "delete";
          default -> throw new IllegalArgumentException("not an API verb: " + httpMethod);
        };
    if (name == null && (verb.equals("list") || verb.equals("watch"))) {
      // A list or watch of one object by field selector is about that object, as for the API
      // server: RBAC rules naming it apply (Fabric8's withName(...).watch() sends this).
      name = selectedName(query.get("fieldSelector"));
    }
    return new ApiRequest(verb, group, resource, namespace, name);
  }

  private static String selectedName(String fieldSelector) {
    if (fieldSelector == null) {
      return null;
    }
    for (String term : fieldSelector.split(",", -1)) {
      for (String equals : List.of("metadata.name==", "metadata.name=")) {
        if (term.startsWith(equals)) {
          return term.substring(equals.length());
        }
      }
    }
    return null;
  }

  private static Map<String, String> query(String rawQuery) {
    Map<String, String> values = new LinkedHashMap<>();
    if (rawQuery == null) {
      return values;
    }
    for (String pair : rawQuery.split("&", -1)) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      values.put(
          URLDecoder.decode(key, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return values;
  }
}
