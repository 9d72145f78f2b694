package dev.weft.controller;

/** The greeter Service of the demo namespace with one endpoint on loopback, as standalone YAML. */
final class GreeterManifest {

  private GreeterManifest() {}

  /**
   * Service {@code demo/greeter} (gRPC port 50051) served by one backend on 127.0.0.1:{@code port}.
   */
  static String withBackendOn(int port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: greeter, namespace: demo}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: greeter-v1
          namespace: demo
          labels: {kubernetes.io/service-name: greeter}
        addressType: IPv4
        ports: [{name: grpc, port: %d}]
        endpoints: [{addresses: ["127.0.0.1"]}]
        """
        .formatted(port);
  }

  /**
   * Service {@code demo/<name>} (gRPC port 50051) labelled {@code version: <version>}, served by
   * one backend on 127.0.0.1:{@code port}: one version of a canary, as a Service of its own.
   */
  static String version(String name, String version, int port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %1$s, namespace: demo, labels: {app: greeter, version: %2$s}}
        spec:
          ports: [{name: grpc, port: 50051, appProtocol: grpc}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %1$s
          namespace: demo
          labels: {kubernetes.io/service-name: %1$s}
        addressType: IPv4
        ports: [{name: grpc, port: %3$d}]
        endpoints: [{addresses: ["127.0.0.1"]}]
        """
        .formatted(name, version, port);
  }
}
