package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.registry.ApiServerFixture;
import dev.weft.registry.DirectorySource;
import dev.weft.registry.KubernetesSource;
import dev.weft.registry.TestObjects;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A grpc-xds client reaches backends that the registry learned from its real sources. */
class SourcesEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void backendsRegisteredThroughTheKubernetesApiAreReached() {
    try (ApiServerFixture apiServer = new ApiServerFixture();
        XdsTestbed mesh = new XdsTestbed(false)) {
      KubernetesClient kubernetes = apiServer.client();
      try (KubernetesSource source =
          new KubernetesSource(kubernetes, List.of(), mesh.registry.registerSource("kubernetes"))) {
        int v1 = mesh.startBackend("v1");
        int v2 = mesh.startBackend("v2");
        kubernetes.resource(TestObjects.service("demo", "greeter", "http", 50051)).create();
        kubernetes.resource(XdsTestbed.backendSlice(v1)).create();
        source.start();
        ManagedChannel channel = mesh.client(TARGET);
        assertThat(XdsTestbed.spread(channel, 20)).containsOnlyKeys("v1");

        kubernetes.resource(XdsTestbed.backendSlice(v2)).create();

        await().atMost(WAIT).until(() -> XdsTestbed.spread(channel, 20).keySet().contains("v2"));
      }
    }
  }

  @Test
  void backendsRegisteredThroughTheConfigDirectoryAreReached(@TempDir Path dir) throws Exception {
    try (XdsTestbed mesh = new XdsTestbed(false)) {
      int v1 = mesh.startBackend("v1");
      int v2 = mesh.startBackend("v2");
      Files.writeString(dir.resolve("greeter.yaml"), greeterYaml(v1));
      try (DirectorySource source =
          new DirectorySource(dir, mesh.registry.registerSource("directory"))) {
        source.start();
        ManagedChannel channel = mesh.client(TARGET);
        assertThat(XdsTestbed.spread(channel, 20)).containsOnlyKeys("v1");

        Files.writeString(dir.resolve("greeter.yaml"), greeterYaml(v2));

        await()
            .atMost(WAIT)
            .until(() -> XdsTestbed.spread(channel, 20).keySet().equals(java.util.Set.of("v2")));
      }
    }
  }

  private static String greeterYaml(int backendPort) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: greeter, namespace: demo}
        spec:
          ports: [{name: http, port: 50051}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: greeter-local
          namespace: demo
          labels: {kubernetes.io/service-name: greeter}
        addressType: IPv4
        ports: [{name: http, port: %d}]
        endpoints:
          - addresses: ["127.0.0.1"]
        """
        .formatted(backendPort);
  }
}
