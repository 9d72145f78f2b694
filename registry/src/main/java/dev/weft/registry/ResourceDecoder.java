package dev.weft.registry;

import com.google.common.collect.Interner;
import com.google.common.collect.Interners;
import com.google.common.net.InetAddresses;
import dev.weft.api.gateway.GatewayRouteValidator;
import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.registry.Mutation.DecodedSlice;
import dev.weft.registry.Mutation.PodInfo;
import dev.weft.registry.Mutation.SliceEndpoint;
import dev.weft.registry.Mutation.SlicePort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
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
 * <p>Thread-safe: stateless apart from weak interners, which are concurrent. Strings and label maps
 * that repeat across many endpoints (zones, nodes, service accounts, labels) are interned so that
 * each distinct value is held once.
 */
final class ResourceDecoder {

  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
  static final String DEFAULT_NAMESPACE = "default";

  private static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  private static final Pattern DNS_1035_LABEL = Pattern.compile("^[a-z]([-a-z0-9]*[a-z0-9])?$");
  private static final Pattern PORT_NAME = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  private static final int MAX_LABEL_LENGTH = 63;
  private static final int MAX_SUBDOMAIN_LENGTH = 253;
  private static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");

  private final Interner<String> strings = Interners.newWeakInterner();
  private final Interner<Map<String, String>> labelMaps = Interners.newWeakInterner();

  /** Returns the key of a supported object, or empty for a kind the registry does not read. */
  static Optional<ObjectKey> keyOf(HasMetadata object) {
    ResourceKind kind = kindOf(object);
    ObjectMeta meta = object.getMetadata();
    if (kind == null || meta == null || meta.getName() == null || meta.getName().isEmpty()) {
      return Optional.empty();
    }
    String namespace = meta.getNamespace() == null ? DEFAULT_NAMESPACE : meta.getNamespace();
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
      case POD -> Validated.valid(decodePod(key, (Pod) object));
      case HTTP_ROUTE -> {
        HTTPRoute route = (HTTPRoute) object;
        if (route.getSpec() != null
            && !GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())) {
          yield Validated.valid(new Mutation.Delete(key));
        }
        yield GatewayRouteValidator.validate(route)
            .map(valid -> new Mutation.PutConfig(new MeshConfig(key, valid)));
      }
      case GRPC_ROUTE -> {
        GRPCRoute route = (GRPCRoute) object;
        if (route.getSpec() != null
            && !GatewayRouteValidator.isMeshRoute(route.getSpec().getParentRefs())) {
          yield Validated.valid(new Mutation.Delete(key));
        }
        yield GatewayRouteValidator.validate(route)
            .map(valid -> new Mutation.PutConfig(new MeshConfig(key, valid)));
      }
    };
  }

  private Validated<Mutation> decodeService(ObjectKey key, Service service) {
    FieldErrors errors = new FieldErrors();
    checkDnsLabel("metadata.name", key.name(), DNS_1035_LABEL, errors);
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
        String path = hasList ? FieldErrors.indexed("spec.clusterIPs", i) : "spec.clusterIP";
        InetAddress address = parseIp(path, ip, null, errors);
        if (address != null) {
          clusterIps.add(InetAddresses.toAddrString(address));
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
                    labels(service.getMetadata()),
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
    for (int j = 0; j < specEndpoints.size(); j++) {
      var endpoint = specEndpoints.get(j);
      String path = FieldErrors.indexed("endpoints", j);
      List<String> addresses = orEmpty(endpoint.getAddresses());
      if (addresses.isEmpty()) {
        errors.add(path + ".addresses", "at least one address is required");
        continue;
      }
      InetAddress first = null;
      for (int k = 0; k < addresses.size(); k++) {
        InetAddress parsed =
            parseIp(FieldErrors.indexed(path + ".addresses", k), addresses.get(k), family, errors);
        if (k == 0) {
          first = parsed;
        }
      }
      if (first == null) {
        continue;
      }
      EndpointConditions conditions = endpoint.getConditions();
      endpoints.add(
          new SliceEndpoint(
              InetAddresses.toAddrString(first),
              conditions == null
                  ? dev.weft.registry.EndpointConditions.of(null, null, null)
                  : dev.weft.registry.EndpointConditions.of(
                      conditions.getReady(), conditions.getServing(), conditions.getTerminating()),
              strings.intern(orEmpty(endpoint.getZone())),
              strings.intern(orEmpty(endpoint.getNodeName())),
              podOf(key.namespace(), endpoint.getTargetRef())));
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

  private Mutation decodePod(ObjectKey key, Pod pod) {
    String account = null;
    if (pod.getSpec() != null) {
      account = pod.getSpec().getServiceAccountName();
      if (account == null) {
        account = pod.getSpec().getServiceAccount();
      }
    }
    return new Mutation.PutPod(
        new PodInfo(
            key, strings.intern(account == null ? "default" : account), labels(pod.getMetadata())));
  }

  private static ObjectKey podOf(String sliceNamespace, ObjectReference targetRef) {
    if (targetRef == null || !"Pod".equals(targetRef.getKind()) || targetRef.getName() == null) {
      return null;
    }
    String namespace = targetRef.getNamespace() == null ? sliceNamespace : targetRef.getNamespace();
    return new ObjectKey(ResourceKind.POD, namespace, targetRef.getName());
  }

  private Map<String, String> labels(ObjectMeta meta) {
    Map<String, String> labels = meta == null ? null : meta.getLabels();
    return labels == null || labels.isEmpty() ? Map.of() : labelMaps.intern(Map.copyOf(labels));
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
    if (name.chars().allMatch(Character::isDigit)) {
      int number = Integer.parseInt(name);
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
      errors.add(path, port + " is not a port number (1..65535)");
      return false;
    }
    return true;
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
   * Parses an IP literal without ever resolving a name. With {@code family} set, the address must
   * be of that family.
   */
  private static InetAddress parseIp(
      String path, String text, Class<? extends InetAddress> family, FieldErrors errors) {
    InetAddress address;
    try {
      address = InetAddresses.forString(text);
    } catch (IllegalArgumentException e) {
      errors.add(path, "\"" + text + "\" is not an IP address");
      return null;
    }
    if (family != null && !family.isInstance(address)) {
      errors.add(
          path,
          "\""
              + text
              + "\" is not an "
              + (family == Inet4Address.class ? "IPv4" : "IPv6")
              + " address, as addressType requires");
      return null;
    }
    return address;
  }

  private static boolean isDnsSubdomain(String name) {
    if (name.isEmpty() || name.length() > MAX_SUBDOMAIN_LENGTH) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (label.isEmpty() || !DNS_LABEL.matcher(label).matches()) {
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
