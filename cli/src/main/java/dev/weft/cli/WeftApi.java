package dev.weft.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Weft's HTTP API as the CLI reads it: a GET that answers JSON, or one clear {@link CliException}
 * (Weft unreachable, the token refused, the object unknown).
 */
final class WeftApi {

  static final JsonMapper JSON = JsonMapper.builder().build();

  private static final String PORT_FORWARD_HINT =
      "start kubectl -n weft-system port-forward svc/weft 8080, or pass --server";

  private final URI server;
  private final String token;
  private final Duration timeout;
  private final HttpClient http;

  WeftApi(URI server, String token, Duration timeout) {
    if (server.getScheme() == null
        || !(server.getScheme().equals("http") || server.getScheme().equals("https"))
        || server.getHost() == null) {
      throw new CliException(
          "--server "
              + server
              + " is not an http:// or https:// URL; pass e.g. http://localhost:8080");
    }
    this.server = server;
    this.token = token == null || token.isBlank() ? null : token.strip();
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  /** A JSON answer and the response's headers. */
  record Answer(JsonNode json, HttpHeaders headers) {}

  /** GETs {@code pathAndQuery} (starting with {@code /}) and parses the JSON answer. */
  JsonNode get(String pathAndQuery) {
    return fetch(pathAndQuery).json();
  }

  /** {@link #get}, with the response's headers. */
  Answer fetch(String pathAndQuery) {
    URI uri = server.resolve(pathAndQuery);
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json").GET();
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw new CliException(
          "cannot reach Weft's HTTP API at " + server + "; " + PORT_FORWARD_HINT);
    } catch (HttpTimeoutException e) {
      throw new CliException(
          "Weft's HTTP API at "
              + server
              + " did not answer within "
              + Durations.age(timeout)
              + "; retry, or raise --request-timeout");
    } catch (IOException e) {
      throw new CliException(
          "cannot talk to Weft's HTTP API at "
              + server
              + " ("
              + e.getMessage()
              + "); "
              + PORT_FORWARD_HINT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
    int status = response.statusCode();
    if (status == 401 || status == 403) {
      throw new CliException(
          "Weft's HTTP API refused the request ("
              + status
              + "): "
              + error(response.body())
              + (token == null ? "; pass --token or set WEFT_TOKEN" : ""));
    }
    if (status >= 400) {
      throw new CliException(error(response.body()) + " (HTTP " + status + " from " + uri + ")");
    }
    try {
      return new Answer(JSON.readTree(response.body()), response.headers());
    } catch (JacksonException e) {
      throw new CliException(
          uri + " did not answer JSON; is --server " + server + " Weft's HTTP API?");
    }
  }

  /**
   * The error an answer carries: {"error": ...}, {"reason": ...} (a component not ready), or
   * {"errors": [{field, reason}]}, or its text.
   */
  private static String error(String body) {
    try {
      JsonNode json = JSON.readTree(body);
      if (json != null && json.hasNonNull("error")) {
        return json.get("error").asString();
      }
      if (json != null && json.hasNonNull("reason")) {
        return json.get("reason").asString();
      }
      if (json != null && json.path("errors").isArray() && !json.get("errors").isEmpty()) {
        StringBuilder text = new StringBuilder();
        for (JsonNode error : json.get("errors")) {
          if (text.length() > 0) {
            text.append("; ");
          }
          text.append(error.path("field").asString())
              .append(": ")
              .append(error.path("reason").asString());
        }
        return text.toString();
      }
    } catch (JacksonException e) {
      // not JSON: the text itself, below
    }
    String text = body == null ? "" : body.strip().replaceAll("\\s+", " ");
    return text.length() > 200 ? text.substring(0, 200) + "..." : text;
  }
}
