package dev.weft.cluster;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Fabric8's mock API server in CRUD mode, on 127.0.0.1, standing in for a cluster's: it records
 * every request made to it (so a test can check each against the chart's RBAC rules), and answers
 * TokenReviews for the ServiceAccount tokens a test registers, as a real API server would for
 * tokens it issued.
 */
final class ApiServer implements AutoCloseable {

  /** One request, as RBAC sees it, and who made it (its User-Agent). */
  record Request(String method, String path, String userAgent) {}

  /** The mock server logs every request at INFO (java.util.logging): the test records them. */
  private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");

  static {
    MOCK_LOG.setLevel(Level.WARNING);
  }

  private final RecordingDispatcher dispatcher = new RecordingDispatcher();
  private final KubernetesMockServer server;
  private final KubernetesClient client;

  ApiServer() {
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    client = server.createClient();
  }

  /** The test's own client (its requests are recorded too, marked by their User-Agent). */
  KubernetesClient client() {
    return client;
  }

  /** What a process in the test's network reaches the API server at. */
  String url() {
    return "http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
  }

  /** From now on, a TokenReview of {@code token} says it belongs to this ServiceAccount. */
  void issueToken(String token, String namespace, String serviceAccount) {
    dispatcher.tokens.put(token, "system:serviceaccount:" + namespace + ":" + serviceAccount);
  }

  /** Every request made so far. */
  List<Request> requests() {
    return List.copyOf(dispatcher.requests);
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }

  private static final class RecordingDispatcher extends KubernetesCrudDispatcher {
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final Map<String, String> tokens = new ConcurrentHashMap<>();

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      requests.add(
          new Request(request.getMethod(), request.getPath(), request.getHeader("User-Agent")));
      if (request.getMethod().equals("POST")
          && request.getPath().startsWith("/apis/authentication.k8s.io/v1/tokenreviews")) {
        return review(Serialization.unmarshal(request.getUtf8Body(), TokenReview.class));
      }
      return super.dispatch(request);
    }

    private MockResponse review(TokenReview review) {
      String user = tokens.get(review.getSpec().getToken());
      review.setStatus(
          user == null
              ? new TokenReviewStatusBuilder()
                  .withAuthenticated(false)
                  .withError("invalid bearer token")
                  .build()
              : new TokenReviewStatusBuilder()
                  .withAuthenticated(true)
                  .withNewUser()
                  .withUsername(user)
                  .endUser()
                  .withAudiences(review.getSpec().getAudiences())
                  .build());
      return new MockResponse().setResponseCode(201).setBody(Serialization.asJson(review));
    }
  }
}
