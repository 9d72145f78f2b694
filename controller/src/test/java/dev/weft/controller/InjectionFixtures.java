package dev.weft.controller;

import dev.weft.distributor.envoy.EnvoyBootstrap;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/** Settings and inputs the injection tests share: what the chart would configure. */
final class InjectionFixtures {

  static final String INIT_IMAGE = "registry.example.com/weft/iptables:1.0";
  static final String AGENT_IMAGE = "registry.example.com/weft/controller:0.1.0";
  static final String PROXY_IMAGE = "envoyproxy/envoy:v1.34.1";
  static final String CONTROL_PLANE_ID = "spiffe://cluster.local/ns/weft-system/sa/weft";

  /** xDS over mutual TLS on the CA's port, as in a cluster without a plaintext port. */
  static final SidecarInjector.Upstream UPSTREAM =
      new SidecarInjector.Upstream(
          "weft.weft-system.svc:15012",
          new EnvoyBootstrap.ControlPlane(
              "weft.weft-system.svc",
              15012,
              Optional.of(
                  new EnvoyBootstrap.ControlPlaneTls(
                      CONTROL_PLANE_ID, EnvoyBootstrap.DEFAULT_SDS_SOCKET)),
              true));

  private InjectionFixtures() {}

  static SidecarInjector.Settings settings() {
    return new SidecarInjector.Settings(
        new SidecarInjector.ContainerTemplate(
            "weft.injection.init.image",
            INIT_IMAGE,
            resources(Map.of("cpu", "10m", "memory", "16Mi"), Map.of("memory", "64Mi"))),
        new SidecarInjector.ContainerTemplate(
            "weft.injection.agent.image",
            AGENT_IMAGE,
            resources(Map.of("cpu", "20m", "memory", "128Mi"), Map.of("memory", "192Mi"))),
        new SidecarInjector.ContainerTemplate(
            "weft.injection.proxy.image",
            PROXY_IMAGE,
            resources(Map.of("cpu", "100m", "memory", "128Mi"), Map.of("memory", "256Mi"))),
        "weft-system",
        CONTROL_PLANE_ID,
        "weft-ca-root-cert",
        "weft");
  }

  static SidecarInjector injector() {
    return new SidecarInjector(settings(), () -> UPSTREAM);
  }

  static ResourceRequirements resources(Map<String, String> requests, Map<String, String> limits) {
    ResourceRequirements resources = new ResourceRequirements();
    resources.setRequests(quantities(requests));
    resources.setLimits(quantities(limits));
    return resources;
  }

  private static Map<String, Quantity> quantities(Map<String, String> values) {
    Map<String, Quantity> quantities = new java.util.TreeMap<>();
    values.forEach((k, v) -> quantities.put(k, new Quantity(v)));
    return quantities;
  }

  /** A test resource's text. */
  static String resource(String path) {
    try (InputStream in = InjectionFixtures.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
