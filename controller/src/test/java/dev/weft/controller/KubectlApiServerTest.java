package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.HashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The PATCH semantics of {@link KubectlApiServer}, which the mock alone gets wrong. */
class KubectlApiServerTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private KubernetesMockServer server;
  private KubernetesClient client;

  @BeforeEach
  void start() throws Exception {
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), new KubectlApiServer(), false);
    server.init(InetAddress.getByName("127.0.0.1"), 0);
    client = server.createClient();
    client
        .resource(
            Serialization.unmarshal(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: greeter-split, namespace: demo}
                spec:
                  parentRefs: [{group: "", kind: Service, name: greeter}]
                  rules:
                    - backendRefs:
                        - {name: greeter-v1, port: 50051, weight: 100}
                        - {name: greeter-v2, port: 50051, weight: 0}
                """,
                HTTPRoute.class))
        .create();
  }

  @AfterEach
  void stop() {
    client.close();
    server.destroy();
  }

  @Test
  void mergePatchFollowsRfc7386() {
    assertThat(
            KubectlApiServer.mergePatch(
                JSON.readTree("{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"},\"l\":[1,2]}"),
                JSON.readTree("{\"a\":\"z\",\"c\":{\"f\":null},\"l\":[3]}")))
        .isEqualTo(JSON.readTree("{\"a\":\"z\",\"c\":{\"d\":\"e\"},\"l\":[3]}"));
  }

  @Test
  void aMergePatchReplacesAListWhereTheMockAloneWouldAppend() {
    HTTPRoute patched =
        route()
            .patch(
                PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"greeter-v2\",\"port\":50051}]}]}}");

    assertThat(patched.getSpec().getRules()).hasSize(1);
    assertThat(route().get().getSpec().getRules().get(0).getBackendRefs())
        .extracting(HTTPBackendRef::getName)
        .containsExactly("greeter-v2");
    assertThat(route().get().getMetadata().getGeneration()).isEqualTo(2);
  }

  @Test
  void aStrategicMergePatchIsRefusedNotGuessed() {
    assertThatThrownBy(
            () ->
                route()
                    .patch(
                        PatchContext.of(PatchType.STRATEGIC_MERGE),
                        "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}"))
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("is not done by this test API server");
    assertThat(route().get().getMetadata().getLabels()).isNullOrEmpty();
  }

  private io.fabric8.kubernetes.client.dsl.Resource<HTTPRoute> route() {
    return client.resources(HTTPRoute.class).inNamespace("demo").withName("greeter-split");
  }
}
