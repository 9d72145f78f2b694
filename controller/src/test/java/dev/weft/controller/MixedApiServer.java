package dev.weft.controller;

import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

/**
 * Fabric8's mock API server, on loopback, in CRUD mode that also answers the expectations a test
 * sets: for the calls CRUD mode cannot answer, such as a TokenReview.
 */
final class MixedApiServer {

  private MixedApiServer() {}

  /** A started server; the caller destroys it. */
  static KubernetesMockServer start() {
    // One map of expectations, shared by the server (which records them) and the dispatcher.
    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            expectations,
            new KubernetesMixedDispatcher(expectations),
            false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    return server;
  }

  /** Makes {@code server} review every token as {@code username}'s. */
  static void authenticateEveryTokenAs(KubernetesMockServer server, String username) {
    server
        .expect()
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReturn(
            201,
            new TokenReviewBuilder()
                .withNewStatus()
                .withAuthenticated(true)
                .withNewUser()
                .withUsername(username)
                .endUser()
                .endStatus()
                .build())
        .always();
  }
}
