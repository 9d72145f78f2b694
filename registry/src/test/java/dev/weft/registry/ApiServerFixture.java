package dev.weft.registry;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.HashMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fabric8's mock API server in CRUD mode, with control over its watches: a test can take every
 * watch down, change objects while no watch is open, and then make the next watch fail the way a
 * real API server does for a compacted resource version (an in-stream 410 Gone), which makes an
 * informer relist. It can also stop serving a resource path, as when a CRD is not installed.
 */
public final class ApiServerFixture implements AutoCloseable {

  private static final String GONE =
      "{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\","
          + "\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}";
  private static final String NOT_FOUND =
      "{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\","
          + "\"message\":\"the server could not find the requested resource\","
          + "\"reason\":\"NotFound\",\"code\":404}";

  private final ControllableDispatcher dispatcher = new ControllableDispatcher();
  private final KubernetesMockServer server;
  private final KubernetesClient client;

  public ApiServerFixture() {
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init();
    client = server.createClient();
  }

  public KubernetesClient client() {
    return client;
  }

  /** Stops serving paths that start with {@code prefix}: they answer 404, as an absent CRD does. */
  public void stopServing(String prefix) {
    dispatcher.notServed.add(prefix);
  }

  /**
   * Closes every open watch and refuses new ones (503) until {@link #restoreWatchesWithGone(int)}.
   */
  public void dropWatches() {
    dispatcher.watchesDown = true;
    for (WebSocket socket : dispatcher.openWatches) {
      socket.close(1000, "dropped by the test");
    }
    dispatcher.openWatches.clear();
  }

  /**
   * Lets watches through again. The next {@code watches} watch requests get a 410 Gone in the
   * stream, so the informers that make them relist, as after a long disconnect from a real API
   * server.
   */
  public void restoreWatchesWithGone(int watches) {
    dispatcher.goneInStream.set(watches);
    dispatcher.watchesDown = false;
  }

  public int openWatches() {
    return dispatcher.openWatches.size();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }

  private static final class ControllableDispatcher extends KubernetesCrudDispatcher {
    final Set<WebSocket> openWatches = ConcurrentHashMap.newKeySet();
    final Set<String> notServed = ConcurrentHashMap.newKeySet();
    final AtomicInteger goneInStream = new AtomicInteger();
    volatile boolean watchesDown;

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      for (String prefix : notServed) {
        if (request.getPath().startsWith(prefix)) {
          return new MockResponse().setResponseCode(404).setBody(NOT_FOUND);
        }
      }
      return super.dispatch(request);
    }

    @Override
    public MockResponse handleWatch(String path) {
      if (watchesDown) {
        return new MockResponse().setResponseCode(503);
      }
      if (goneInStream.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        return new MockResponse()
            .withWebSocketUpgrade(
                new WebSocketListener() {
                  @Override
                  public void onOpen(WebSocket socket, Response response) {
                    socket.send("{\"type\":\"ERROR\",\"object\":" + GONE + "}");
                    socket.close(1000, "expired");
                  }
                });
      }
      MockResponse response = super.handleWatch(path);
      WebSocketListener delegate = response.getWebSocketListener();
      return response.withWebSocketUpgrade(
          new WebSocketListener() {
            @Override
            public void onOpen(WebSocket socket, Response upgrade) {
              openWatches.add(socket);
              delegate.onOpen(socket, upgrade);
            }

            @Override
            public void onMessage(WebSocket socket, String text) {
              delegate.onMessage(socket, text);
            }

            @Override
            public void onClosing(WebSocket socket, int code, String reason) {
              openWatches.remove(socket);
              delegate.onClosing(socket, code, reason);
            }

            @Override
            public void onClosed(WebSocket socket, int code, String reason) {
              openWatches.remove(socket);
              delegate.onClosed(socket, code, reason);
            }

            @Override
            public void onFailure(WebSocket socket, Throwable failure, Response upgrade) {
              openWatches.remove(socket);
              delegate.onFailure(socket, failure, upgrade);
            }
          });
    }
  }
}
