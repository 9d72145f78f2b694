package dev.weft.api.gateway;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.AllowedRoutes;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Listener;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ListenerTLSConfig;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteGroupKind;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.SecretObjectReference;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Structural validation of Gateway API {@code Gateway} and {@code GatewayClass} objects as Weft's
 * gateways program them: HTTP and HTTPS listeners (TLS terminated with a certificate from a Secret
 * of the Gateway's namespace) for HTTPRoutes. Pure functions; each returns every error it finds,
 * with the field path and the reason, following the limits the Gateway API CRDs declare. What the
 * API allows and Weft does not do yet (TLS passthrough, TCP listeners, route namespace selectors,
 * Secrets in other namespaces) is refused by name, rather than accepted and ignored.
 */
public final class GatewayValidator {

  private static final int MAX_LISTENERS = 64;
  private static final int MAX_CERTIFICATE_REFS = 64;
  private static final String GATEWAY_GROUP = "gateway.networking.k8s.io";

  // The Gateway API's SectionName: a DNS subdomain.
  private static final Pattern SECTION_NAME =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  // The Gateway API's Hostname: a DNS name, optionally with one leading wildcard label.
  private static final Pattern HOSTNAME =
      Pattern.compile(
          "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  // The Gateway API's controllerName: a domain-prefixed path.
  private static final Pattern CONTROLLER_NAME =
      Pattern.compile(
          "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$");

  private GatewayValidator() {}

  public static Validated<Gateway> validate(Gateway gateway) {
    FieldErrors errors = new FieldErrors();
    if (gateway.getSpec() == null) {
      return Validated.invalid("spec", "required");
    }
    String className = gateway.getSpec().getGatewayClassName();
    if (className == null || className.isEmpty()) {
      errors.add("spec.gatewayClassName", "required");
    }
    if (gateway.getSpec().getAddresses() != null && !gateway.getSpec().getAddresses().isEmpty()) {
      errors.add(
          "spec.addresses",
          "Weft does not assign addresses: a Gateway's address is its Envoy Service's; leave it"
              + " out");
    }
    List<Listener> listeners = nullToEmpty(gateway.getSpec().getListeners());
    if (listeners.isEmpty()) {
      errors.add("spec.listeners", "at least one listener is required");
    } else if (listeners.size() > MAX_LISTENERS) {
      errors.add(
          "spec.listeners",
          listeners.size() + " entries; at most " + MAX_LISTENERS + " are allowed");
    }
    String namespace = gateway.getMetadata() == null ? null : gateway.getMetadata().getNamespace();
    Map<String, Integer> names = new HashMap<>();
    Map<Integer, String> protocolByPort = new HashMap<>();
    Map<String, Integer> hostByPort = new HashMap<>();
    for (int i = 0; i < listeners.size(); i++) {
      String path = FieldErrors.indexed("spec.listeners", i);
      Listener listener = listeners.get(i);
      if (!errors.checkPresent(path, listener)) {
        continue;
      }
      validateListener(path, listener, namespace, errors);
      if (listener.getName() != null) {
        Integer earlier = names.putIfAbsent(listener.getName(), i);
        if (earlier != null) {
          errors.add(
              path + ".name",
              "\"" + listener.getName() + "\" is already the name of listener " + earlier);
        }
      }
      Integer port = listener.getPort();
      String protocol = listener.getProtocol();
      if (port == null || protocol == null) {
        continue;
      }
      String other = protocolByPort.putIfAbsent(port, protocol);
      if (other != null && !other.equals(protocol)) {
        errors.add(
            path + ".protocol",
            protocol
                + " on port "
                + port
                + ", where another listener serves "
                + other
                + ": one protocol per port");
      }
      String host = listener.getHostname() == null ? "*" : listener.getHostname();
      Integer sameHost = hostByPort.putIfAbsent(port + "/" + host, i);
      if (sameHost != null) {
        errors.add(
            path + ".hostname",
            "listener "
                + sameHost
                + " already serves "
                + ("*".equals(host) ? "every host" : "\"" + host + "\"")
                + " on port "
                + port);
      }
    }
    return errors.toResult(() -> gateway);
  }

  public static Validated<GatewayClass> validate(GatewayClass gatewayClass) {
    if (gatewayClass.getSpec() == null) {
      return Validated.invalid("spec", "required");
    }
    String controller = gatewayClass.getSpec().getControllerName();
    if (controller == null || controller.isEmpty()) {
      return Validated.invalid("spec.controllerName", "required");
    }
    if (!CONTROLLER_NAME.matcher(controller).matches()) {
      return Validated.invalid(
          "spec.controllerName",
          "\""
              + controller
              + "\" is not a domain-prefixed path such as weft.dev/gateway-controller");
    }
    return Validated.valid(gatewayClass);
  }

  private static void validateListener(
      String path, Listener listener, String namespace, FieldErrors errors) {
    String name = listener.getName();
    if (name == null || name.isEmpty()) {
      errors.add(path + ".name", "required");
    } else if (name.length() > 253 || !SECTION_NAME.matcher(name).matches()) {
      errors.add(
          path + ".name",
          "\"" + name + "\" is not a DNS subdomain (lowercase letters, digits, '-' and '.')");
    }
    Integer port = listener.getPort();
    if (port == null) {
      errors.add(path + ".port", "required");
    } else if (port < 1 || port > 65535) {
      errors.add(path + ".port", port + " is not a port number (1..65535)");
    }
    String hostname = listener.getHostname();
    String hostnameProblem = hostname == null ? null : hostnameProblem(hostname);
    if (hostnameProblem != null) {
      errors.add(path + ".hostname", hostnameProblem);
    }
    String protocol = listener.getProtocol();
    ListenerTLSConfig tls = listener.getTls();
    if (protocol == null || protocol.isEmpty()) {
      errors.add(path + ".protocol", "required");
    } else if ("HTTP".equals(protocol)) {
      if (tls != null) {
        errors.add(
            path + ".tls", "must be left out for protocol HTTP (use HTTPS to terminate TLS)");
      }
    } else if ("HTTPS".equals(protocol)) {
      validateTls(path + ".tls", tls, namespace, errors);
    } else {
      errors.add(
          path + ".protocol",
          "\"" + protocol + "\" is not supported by Weft's gateways: HTTP or HTTPS");
    }
    validateAllowedRoutes(path + ".allowedRoutes", listener.getAllowedRoutes(), errors);
  }

  private static void validateTls(
      String path, ListenerTLSConfig tls, String namespace, FieldErrors errors) {
    if (tls == null) {
      errors.add(path, "required for protocol HTTPS");
      return;
    }
    String mode = tls.getMode() == null ? "Terminate" : tls.getMode();
    if (!"Terminate".equals(mode)) {
      errors.add(
          path + ".mode",
          "\"" + mode + "\" is not supported by Weft's gateways: Terminate (the default)");
    }
    List<SecretObjectReference> refs = nullToEmpty(tls.getCertificateRefs());
    if (refs.isEmpty()) {
      errors.add(path + ".certificateRefs", "at least one Secret is required to terminate TLS");
    } else if (refs.size() > MAX_CERTIFICATE_REFS) {
      errors.add(
          path + ".certificateRefs",
          refs.size() + " entries; at most " + MAX_CERTIFICATE_REFS + " are allowed");
    }
    for (int i = 0; i < refs.size(); i++) {
      String at = FieldErrors.indexed(path + ".certificateRefs", i);
      SecretObjectReference ref = refs.get(i);
      if (!errors.checkPresent(at, ref)) {
        continue;
      }
      boolean coreGroup = ref.getGroup() == null || ref.getGroup().isEmpty();
      if (!coreGroup || !"Secret".equals(ref.getKind() == null ? "Secret" : ref.getKind())) {
        errors.add(at, "must name a Secret (group: \"\", kind: Secret)");
      }
      if (ref.getName() == null || ref.getName().isEmpty()) {
        errors.add(at + ".name", "required");
      }
      if (ref.getNamespace() != null && !ref.getNamespace().equals(namespace)) {
        errors.add(
            at + ".namespace",
            "a Secret in another namespace needs a ReferenceGrant, which Weft does not read yet;"
                + " put the Secret in the Gateway's namespace");
      }
    }
  }

  private static void validateAllowedRoutes(
      String path, AllowedRoutes allowed, FieldErrors errors) {
    if (allowed == null) {
      return;
    }
    if (allowed.getNamespaces() != null) {
      String from = allowed.getNamespaces().getFrom();
      if (from != null && !"Same".equals(from) && !"All".equals(from)) {
        errors.add(
            path + ".namespaces.from",
            "\"" + from + "\" is not supported by Weft's gateways: Same (the default) or All");
      }
    }
    List<RouteGroupKind> kinds = nullToEmpty(allowed.getKinds());
    for (int i = 0; i < kinds.size(); i++) {
      RouteGroupKind kind = kinds.get(i);
      if (!errors.checkPresent(FieldErrors.indexed(path + ".kinds", i), kind)) {
        continue;
      }
      String group = kind.getGroup() == null ? GATEWAY_GROUP : kind.getGroup();
      if (!GATEWAY_GROUP.equals(group) || !"HTTPRoute".equals(kind.getKind())) {
        errors.add(
            FieldErrors.indexed(path + ".kinds", i),
            "Weft's gateways take HTTPRoutes only (group gateway.networking.k8s.io)");
      }
    }
  }

  /** Why {@code hostname} is not a Gateway API Hostname, or null when it is one. */
  static String hostnameProblem(String hostname) {
    boolean ip = hostname.chars().allMatch(c -> c == '.' || Character.isDigit(c));
    if (hostname.length() > 253 || !HOSTNAME.matcher(hostname).matches() || ip) {
      return "\""
          + hostname
          + "\" is not a host name (lowercase DNS labels, the first may be '*'; not an IP)";
    }
    return null;
  }

  private static <T> List<T> nullToEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
