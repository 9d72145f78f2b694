package dev.weft.registry;

import com.google.common.net.InetAddresses;
import com.google.common.primitives.Ints;
import dev.weft.api.gateway.GatewayRouteValidator;
import dev.weft.api.gateway.GatewayValidator;
import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.api.policy.FaultPolicy;
import dev.weft.api.policy.MeshTLSPolicy;
import dev.weft.api.policy.PolicyValidator;
import dev.weft.api.policy.RateLimitPolicy;
import dev.weft.api.policy.Telemetry;
import dev.weft.api.policy.TrafficPolicy;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.registry.Mutation.DecodedSlice;
import dev.weft.registry.Mutation.PodInfo;
import dev.weft.registry.Mutation.SliceEndpoint;
import dev.weft.registry.Mutation.SlicePort;
import dev.weft.registry.model.PolicyValues;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns Kubernetes objects into the registry's own values, validating them on the way: the edge
 * where Fabric8's mutable model ends. Every error names the field path and the reason.
 *
 * <p>Thread-safe: stateless apart from its interners, which are concurrent. Strings and label maps
 * that repeat across many endpoints (zones, nodes, service accounts, labels) are interned so that
 * each distinct value is held once.
 */
final class ResourceDecoder {

  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
  static final String DEFAULT_NAMESPACE = "default";

  private static final Pattern DNS_1035_LABEL = Pattern.compile("^[a-z]([-a-z0-9]*[a-z0-9])?$");
  private static final Pattern PORT_NAME = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  private static final int MAX_LABEL_LENGTH = 63;
  private static final int MAX_SUBDOMAIN_LENGTH = 253;
  private static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");

  /**
   * Distinct zones, nodes, service accounts, port names and protocols in a mesh number in the
   * thousands; this bound leaves room for churn (nodes replaced over time) at about 5 MiB worst.
   */
  private static final int MAX_INTERNED = 65_536;

  private final Interner<String> strings = new Interner<>(MAX_INTERNED);
  private final Interner<Map<String, String>> labelMaps = new Interner<>(MAX_INTERNED);

  /** Returns the key of a supported object, or empty for a kind the registry does not read. */
  static Optional<ObjectKey> keyOf(HasMetadata object) {
    ResourceKind kind = kindOf(object);
    ObjectMeta meta = object.getMetadata();
    if (kind == null || meta == null || meta.getName() == null || meta.getName().isEmpty()) {
      return Optional.empty();
    }
    String namespace =
        kind.clusterScoped()
            ? ""
            : meta.getNamespace() == null ? DEFAULT_NAMESPACE : meta.getNamespace();
    return Optional.of(new ObjectKey(kind, namespace, meta.getName()));
  }

  private static ResourceKind kindOf(HasMetadata object) {
    if (object instanceof Service) {
      return ResourceKind.SERVICE;
    } else if (object instanceof EndpointSlice) {
      return ResourceKind.ENDPOINT_SLICE;
    } else if (object instanceof Pod) {
      return ResourceKind.POD;
    } else if (object instanceof HTTPRoute) {
      return ResourceKind.HTTP_ROUTE;
    } else if (object instanceof GRPCRoute) {
      return ResourceKind.GRPC_ROUTE;
    } else if (object instanceof TrafficPolicy) {
      return ResourceKind.TRAFFIC_POLICY;
    } else if (object instanceof FaultPolicy) {
      return ResourceKind.FAULT_POLICY;
    } else if (object instanceof AuthorizationPolicy) {
      return ResourceKind.AUTHORIZATION_POLICY;
    } else if (object instanceof MeshTLSPolicy) {
      return ResourceKind.MESH_TLS_POLICY;
    } else if (object instanceof RateLimitPolicy) {
      return ResourceKind.RATE_LIMIT_POLICY;
    } else if (object instanceof Telemetry) {
      return ResourceKind.TELEMETRY;
    } else if (object instanceof Gateway) {
      return ResourceKind.GATEWAY;
    } else if (object instanceof GatewayClass) {
      return ResourceKind.GATEWAY_CLASS;
    } else if (object instanceof Secret) {
      return ResourceKind.SECRET;
    }
    return null;
  }

  /**
   * Decodes one object into the mutation that stores it. A route that attaches to no Service is not
   * the mesh's: it decodes to a deletion, so that a route moved away from a Service leaves.
   */
  Validated<Mutation> decode(ObjectKey key, HasMetadata object) {
    if (key.kind() != ResourceKind.SERVICE && !isDnsSubdomain(key.name())) {
      return Validated.invalid(
          "metadata.name",
          "\"" + key.name() + "\" is not a DNS subdomain (lowercase letters, digits, '-' and '.')");
    }
    return switch (key.kind()) {
      case SERVICE -> decodeService(key, (Service) object);
      case ENDPOINT_SLICE -> decodeSlice(key, (EndpointSlice) object);
      case POD -> decodePod(key, (Pod) object);
      case HTTP_ROUTE -> {
        HTTPRoute route = (HTTPRoute) object;
        if (route.getSpec() != null
            && !GatewayRouteValidator.isWeftHttpRoute(route.getSpec().getParentRefs())) {
          yield Validated.valid(new Mutation.Delete(key));
        }
        yield GatewayRouteValidator.validate(route)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofRoute(key, valid, RouteDecoder.decode(valid))));
      }
      case GRPC_ROUTE -> {
        GRPCRoute route = (GRPCRoute) object;
        if (route.getSpec() != null
            && !GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())) {
          yield Validated.valid(new Mutation.Delete(key));
        }
        yield GatewayRouteValidator.validate(route)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofRoute(key, valid, RouteDecoder.decode(valid))));
      }
      case TRAFFIC_POLICY -> {
        TrafficPolicy policy = (TrafficPolicy) object;
        yield PolicyValidator.validate(policy)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, policy, new PolicyValues.Traffic(valid))));
      }
      case FAULT_POLICY -> {
        FaultPolicy policy = (FaultPolicy) object;
        yield PolicyValidator.validate(policy)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, policy, new PolicyValues.Fault(valid))));
      }
      case AUTHORIZATION_POLICY -> {
        AuthorizationPolicy policy = (AuthorizationPolicy) object;
        yield PolicyValidator.validate(policy)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, policy, new PolicyValues.Authorization(valid))));
      }
      case MESH_TLS_POLICY -> {
        MeshTLSPolicy policy = (MeshTLSPolicy) object;
        yield PolicyValidator.validate(policy)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, policy, new PolicyValues.MeshTls(valid))));
      }
      case RATE_LIMIT_POLICY -> {
        RateLimitPolicy policy = (RateLimitPolicy) object;
        yield PolicyValidator.validate(policy)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, policy, new PolicyValues.RateLimit(valid))));
      }
      case TELEMETRY -> {
        Telemetry telemetry = (Telemetry) object;
        yield PolicyValidator.validate(telemetry)
            .map(
                valid ->
                    new Mutation.PutConfig(
                        MeshConfig.ofPolicy(key, telemetry, new PolicyValues.Telemetry(valid))));
      }
      case GATEWAY ->
          GatewayValidator.validate((Gateway) object)
              .map(
                  valid ->
                      new Mutation.PutConfig(
                          MeshConfig.ofGateway(key, valid, GatewayDecoder.decode(valid))));
      case GATEWAY_CLASS ->
          GatewayValidator.validate((GatewayClass) object)
              .map(
                  valid ->
                      new Mutation.PutConfig(
                          MeshConfig.ofGateway(key, valid, GatewayDecoder.decode(valid))));
      case SECRET -> {
        Secret secret = (Secret) object;
        if (!GatewayDecoder.TLS_SECRET_TYPE.equals(secret.getType())) {
          // Not a certificate a Gateway could serve: not Weft's (and its data never kept).
          yield Validated.valid(new Mutation.Delete(key));
        }
        yield GatewayDecoder.credential(key, secret)
            .map(
                credential ->
                    new Mutation.PutConfig(
                        MeshConfig.ofGateway(key, GatewayDecoder.withoutData(secret), credential)));
      }
    };
  }

  private Validated<Mutation> decodeService(ObjectKey key, Service service) {
    FieldErrors errors = new FieldErrors();
    checkDnsLabel("metadata.name", key.name(), DNS_1035_LABEL, errors);
    Map<String, String> labels = labels(service.getMetadata(), errors);
    ServiceSpec spec = service.getSpec();
    if (spec == null) {
      return Validated.invalid("spec", "required");
    }
    List<io.fabric8.kubernetes.api.model.ServicePort> specPorts = orEmpty(spec.getPorts());
    List<ServicePort> ports = new ArrayList<>(specPorts.size());
    Map<String, Integer> seenNames = new HashMap<>();
    for (int i = 0; i < specPorts.size(); i++) {
      io.fabric8.kubernetes.api.model.ServicePort port = specPorts.get(i);
      String path = FieldErrors.indexed("spec.ports", i);
      if (!errors.checkPresent(path, port)) {
        continue;
      }
      String name = orEmpty(port.getName());
      if (name.isEmpty() && specPorts.size() > 1) {
        errors.add(path + ".name", "required when a Service has more than one port");
      } else if (!name.isEmpty()) {
        checkPortName(path + ".name", name, errors);
      }
      Integer earlier = seenNames.putIfAbsent(name, i);
      if (earlier != null) {
        errors.add(
            path + ".name",
            "duplicate port name \"" + name + "\" (also spec.ports[" + earlier + "].name)");
      }
      String protocol = port.getProtocol() == null ? "TCP" : port.getProtocol();
      if (!PROTOCOLS.contains(protocol)) {
        errors.add(path + ".protocol", "\"" + protocol + "\" is not one of TCP, UDP, SCTP");
      }
      if (!checkPort(path + ".port", port.getPort(), errors)) {
        continue;
      }
      String targetPort = targetPort(path + ".targetPort", port.getTargetPort(), errors);
      ports.add(
          new ServicePort(
              strings.intern(name),
              strings.intern(protocol),
              strings.intern(orEmpty(port.getAppProtocol())),
              port.getPort(),
              targetPort == null ? Integer.toString(port.getPort()) : targetPort));
    }
    List<String> clusterIps = new ArrayList<>();
    boolean headless = false;
    boolean hasList = spec.getClusterIPs() != null && !spec.getClusterIPs().isEmpty();
    List<String> specIps =
        hasList
            ? spec.getClusterIPs()
            : spec.getClusterIP() == null ? List.of() : List.of(spec.getClusterIP());
    for (int i = 0; i < specIps.size(); i++) {
      String ip = specIps.get(i);
      if ("None".equals(ip)) {
        headless = true;
      } else if (ip != null && !ip.isEmpty()) {
        String canonical = canonicalIp(ip, null);
        if (canonical == null) {
          errors.add(
              hasList ? FieldErrors.indexed("spec.clusterIPs", i) : "spec.clusterIP",
              ipProblem(ip, null));
        } else {
          clusterIps.add(canonical);
        }
      }
    }
    boolean isHeadless = headless;
    return errors.toResult(
        () ->
            new Mutation.PutService(
                new MeshService(
                    new ServiceKey(key.namespace(), key.name()),
                    ports,
                    clusterIps,
                    labels,
                    isHeadless)));
  }

  private Validated<Mutation> decodeSlice(ObjectKey key, EndpointSlice slice) {
    FieldErrors errors = new FieldErrors();
    Map<String, String> labels = orEmpty(slice.getMetadata().getLabels());
    String serviceName = labels.get(SERVICE_NAME_LABEL);
    if (serviceName == null || serviceName.isEmpty()) {
      errors.add(
          "metadata.labels[" + SERVICE_NAME_LABEL + "]",
          "required: it names the Service this slice belongs to");
    }
    String addressType = slice.getAddressType();
    Class<? extends InetAddress> family = null;
    if ("IPv4".equals(addressType)) {
      family = Inet4Address.class;
    } else if ("IPv6".equals(addressType)) {
      family = Inet6Address.class;
    } else if ("FQDN".equals(addressType)) {
      errors.add("addressType", "FQDN is not supported; use IPv4 or IPv6");
    } else {
      errors.add("addressType", "\"" + addressType + "\" is not one of IPv4, IPv6");
    }

    List<EndpointPort> specPorts = orEmpty(slice.getPorts());
    List<SlicePort> ports = new ArrayList<>(specPorts.size());
    Map<String, Integer> seenNames = new HashMap<>();
    for (int i = 0; i < specPorts.size(); i++) {
      EndpointPort port = specPorts.get(i);
      String path = FieldErrors.indexed("ports", i);
      if (!errors.checkPresent(path, port)) {
        continue;
      }
      String name = orEmpty(port.getName());
      Integer earlier = seenNames.putIfAbsent(name, i);
      if (earlier != null) {
        errors.add(
            path + ".name",
            "duplicate port name \"" + name + "\" (also ports[" + earlier + "].name)");
      }
      if (checkPort(path + ".port", port.getPort(), errors)) {
        ports.add(new SlicePort(strings.intern(name), port.getPort()));
      }
    }

    List<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint> specEndpoints =
        orEmpty(slice.getEndpoints());
    List<SliceEndpoint> endpoints = new ArrayList<>(specEndpoints.size());
    // Endpoints of one slice mostly share a zone and a few nodes: intern each distinct one once.
    String lastZone = null;
    String lastNode = null;
    for (int j = 0; j < specEndpoints.size(); j++) {
      String path = FieldErrors.indexed("endpoints", j);
      var endpoint = specEndpoints.get(j);
      if (!errors.checkPresent(path, endpoint)) {
        continue;
      }
      List<String> addresses = orEmpty(endpoint.getAddresses());
      if (addresses.isEmpty()) {
        errors.add(path + ".addresses", "at least one address is required");
        continue;
      }
      String first = null;
      for (int k = 0; k < addresses.size(); k++) {
        String at = FieldErrors.indexed(path + ".addresses", k);
        if (!errors.checkPresent(at, addresses.get(k))) {
          continue;
        }
        String canonical = canonicalIp(addresses.get(k), family);
        if (canonical == null) {
          errors.add(at, ipProblem(addresses.get(k), family));
        } else if (k == 0) {
          first = canonical;
        }
      }
      if (first == null) {
        continue;
      }
      String zone = orEmpty(endpoint.getZone());
      lastZone = zone.equals(lastZone) ? lastZone : strings.intern(zone);
      String node = orEmpty(endpoint.getNodeName());
      lastNode = node.equals(lastNode) ? lastNode : strings.intern(node);
      EndpointConditions conditions = endpoint.getConditions();
      endpoints.add(
          new SliceEndpoint(
              first,
              conditions == null
                  ? dev.weft.registry.EndpointConditions.of(null, null, null)
                  : dev.weft.registry.EndpointConditions.of(
                      conditions.getReady(), conditions.getServing(), conditions.getTerminating()),
              lastZone,
              lastNode,
              podNamespace(key.namespace(), endpoint.getTargetRef()),
              podName(endpoint.getTargetRef())));
    }
    return errors.toResult(
        () ->
            new Mutation.PutSlice(
                new DecodedSlice(
                    key,
                    new ServiceKey(key.namespace(), serviceName),
                    List.copyOf(ports),
                    List.copyOf(endpoints))));
  }

  private Validated<Mutation> decodePod(ObjectKey key, Pod pod) {
    FieldErrors errors = new FieldErrors();
    Map<String, String> labels = labels(pod.getMetadata(), errors);
    String account = null;
    if (pod.getSpec() != null) {
      account = pod.getSpec().getServiceAccountName();
      if (account == null) {
        account = pod.getSpec().getServiceAccount();
      }
    }
    String serviceAccount = strings.intern(account == null ? "default" : account);
    return errors.toResult(() -> new Mutation.PutPod(new PodInfo(key, serviceAccount, labels)));
  }

  private static String podName(ObjectReference targetRef) {
    return targetRef != null && "Pod".equals(targetRef.getKind()) ? targetRef.getName() : null;
  }

  private static String podNamespace(String sliceNamespace, ObjectReference targetRef) {
    return targetRef == null || targetRef.getNamespace() == null
        ? sliceNamespace
        : targetRef.getNamespace();
  }

  /** Returns the object's labels, interned; a label without a value is an error. */
  private Map<String, String> labels(ObjectMeta meta, FieldErrors errors) {
    Map<String, String> labels = meta == null ? null : meta.getLabels();
    if (labels == null || labels.isEmpty()) {
      return Map.of();
    }
    boolean complete = true;
    for (Map.Entry<String, String> label : labels.entrySet()) {
      if (label.getValue() == null) {
        complete = false;
        errors.add("metadata.labels[" + label.getKey() + "]", nullLabelProblem(label.getKey()));
      }
    }
    return complete ? labelMaps.intern(Map.copyOf(labels)) : Map.of();
  }

  /**
   * Says why a label has no value. In YAML, {@code {version:v1}} is the key {@code version:v1}
   * without a value: the colon needs a space after it.
   */
  private static String nullLabelProblem(String key) {
    int colon = key.indexOf(':');
    return colon < 0
        ? "must be a string, not null (\"\" for an empty value)"
        : "must be a string, not null; did you mean \""
            + key.substring(0, colon)
            + ": "
            + key.substring(colon + 1)
            + "\"? In YAML a colon needs a space after it";
  }

  private static String targetPort(String path, IntOrString target, FieldErrors errors) {
    if (target == null) {
      return null;
    }
    if (target.getIntVal() != null) {
      return checkPort(path, target.getIntVal(), errors) ? target.getIntVal().toString() : null;
    }
    String name = target.getStrVal();
    if (name == null || name.isEmpty()) {
      return null;
    }
    if (isAsciiNumber(name)) {
      Integer number = Ints.tryParse(name); // null when too large for an int
      if (number == null) {
        errors.add(path, notAPort(name));
        return null;
      }
      return checkPort(path, number, errors) ? name : null;
    }
    checkPortName(path, name, errors);
    return name;
  }

  private static boolean checkPort(String path, Integer port, FieldErrors errors) {
    if (port == null) {
      errors.add(path, "required");
      return false;
    }
    if (port < 1 || port > 65535) {
      errors.add(path, notAPort(port));
      return false;
    }
    return true;
  }

  private static String notAPort(Object port) {
    return port + " is not a port number (1..65535)";
  }

  /**
   * Whether {@code text} is written with the digits 0 to 9 only. Not {@link Character#isDigit},
   * which takes the digits of every script: {@link Integer#parseInt} would then read "٨٠٨٠" as port
   * 8080, a targetPort Kubernetes refuses.
   */
  private static boolean isAsciiNumber(String text) {
    return text.chars().allMatch(c -> c >= '0' && c <= '9');
  }

  private static void checkPortName(String path, String name, FieldErrors errors) {
    // IANA_SVC_NAME, as Kubernetes validates container and Service port names.
    if (name.length() > 15 || !PORT_NAME.matcher(name).matches() || name.contains("--")) {
      errors.add(
          path,
          "\""
              + name
              + "\" is not a valid port name (at most 15 lowercase letters, digits and '-')");
    }
  }

  private static void checkDnsLabel(String path, String name, Pattern pattern, FieldErrors errors) {
    if (name.length() > MAX_LABEL_LENGTH || !pattern.matcher(name).matches()) {
      errors.add(
          path,
          "\""
              + name
              + "\" is not a DNS label (at most 63 lowercase letters, digits and '-', starting"
              + " with a letter)");
    }
  }

  /**
   * Returns an IP literal in canonical form, or null when {@code text} is not one (of {@code
   * family}, when set). Never resolves a name.
   */
  private static String canonicalIp(String text, Class<? extends InetAddress> family) {
    if (family != Inet6Address.class && isCanonicalIpv4(text)) {
      return text;
    }
    InetAddress address = parseIp(text);
    if (address == null || (family != null && !family.isInstance(address))) {
      return null;
    }
    // Most addresses arrive canonical already: keep the caller's string rather than a copy.
    String canonical = InetAddresses.toAddrString(address);
    return canonical.equals(text) ? text : canonical;
  }

  /**
   * Whether {@code text} is a dotted-quad IPv4 address in canonical form (no leading zeros), the
   * form Kubernetes writes: checked without allocating, since every endpoint change carries some.
   */
  private static boolean isCanonicalIpv4(String text) {
    if (text == null) {
      return false;
    }
    int length = text.length();
    int octets = 0;
    int i = 0;
    while (i < length) {
      int start = i;
      int value = 0;
      while (i < length && text.charAt(i) >= '0' && text.charAt(i) <= '9' && i - start < 3) {
        value = value * 10 + (text.charAt(i) - '0');
        i++;
      }
      int digits = i - start;
      if (digits == 0 || value > 255 || (digits > 1 && text.charAt(start) == '0')) {
        return false;
      }
      octets++;
      if (i == length) {
        break;
      }
      if (text.charAt(i) != '.' || octets == 4) {
        return false;
      }
      i++;
      if (i == length) {
        return false;
      }
    }
    return octets == 4;
  }

  /** Says why {@link #canonicalIp} refused {@code text}. */
  private static String ipProblem(String text, Class<? extends InetAddress> family) {
    if (parseIp(text) == null) {
      return "\"" + text + "\" is not an IP address";
    }
    return "\""
        + text
        + "\" is not an "
        + (family == Inet4Address.class ? "IPv4" : "IPv6")
        + " address, as addressType requires";
  }

  private static InetAddress parseIp(String text) {
    try {
      return text == null ? null : InetAddresses.forString(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** RFC 1123 subdomain: dot-separated labels of lowercase letters, digits and inner '-'. */
  private static boolean isDnsSubdomain(String name) {
    int length = name.length();
    if (length == 0 || length > MAX_SUBDOMAIN_LENGTH) {
      return false;
    }
    int labelStart = 0;
    for (int i = 0; i <= length; i++) {
      char c = i == length ? '.' : name.charAt(i);
      if (c == '.') {
        if (i == labelStart || name.charAt(i - 1) == '-' || name.charAt(labelStart) == '-') {
          return false;
        }
        labelStart = i + 1;
      } else if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') {
        return false;
      }
    }
    return true;
  }

  private static String orEmpty(String value) {
    return value == null ? "" : value;
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }

  private static <K, V> Map<K, V> orEmpty(Map<K, V> map) {
    return map == null ? Map.of() : map;
  }
}
