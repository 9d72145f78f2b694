package dev.weft.controller;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.distributor.envoy.EgressHosts;
import dev.weft.distributor.envoy.EnvoyBootstrap;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How an Envoy bootstrap reaches this control plane: the transport gRPC bootstraps get, and its
 * stats to the telemetry collector when that is on ({@code weft.telemetry.enabled}). With a
 * plaintext xDS port, that port at the advertised address (standalone, or a chart with {@code
 * xds.plaintext}); otherwise mutual TLS on the CA's port, at its first DNS name, with the
 * certificates of the workload agent's SDS socket and Weft's own SPIFFE ID required of the server.
 */
final class EnvoyBootstraps {

  /** A label's name, and its value when not empty: Kubernetes' rule for both. */
  private static final Pattern LABEL_NAME =
      Pattern.compile("^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$");

  private static final Pattern LABEL_PREFIX =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  private static final Pattern IPV4 =
      Pattern.compile("^(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}$");

  private static final Pattern IPV6_CHARACTERS = Pattern.compile("^[0-9A-Fa-f:.]+$");

  private final WeftProperties properties;
  private final XdsConfiguration.XdsServerLifecycle xds;
  private final CaLifecycle ca;

  EnvoyBootstraps(
      WeftProperties properties, XdsConfiguration.XdsServerLifecycle xds, CaLifecycle ca) {
    this.properties = properties;
    this.xds = xds;
    this.ca = ca;
  }

  /** Where and how Envoy connects, or why it cannot be told. */
  EnvoyBootstrap.ControlPlane controlPlane(boolean delta) {
    if (xds.port().isPresent()) {
      String address = xds.advertisedAddress();
      int colon = address.lastIndexOf(':');
      return new EnvoyBootstrap.ControlPlane(
          address.substring(0, colon),
          Integer.parseInt(address.substring(colon + 1)),
          Optional.empty(),
          delta,
          statsFlushInterval());
    }
    WeftProperties.Ca settings = properties.ca();
    if (!settings.enabled() || settings.dnsNames().isEmpty()) {
      throw new IllegalStateException(
          "no plaintext xDS port and no CA port with a DNS name: Envoy could not reach Weft;"
              + " enable weft.ca with weft.ca.dns-names, or weft.xds.port");
    }
    int port = ca.server().map(server -> server.port()).orElse(settings.port());
    String self =
        "spiffe://"
            + settings.trustDomain()
            + "/ns/"
            + properties.kubernetes().controlPlaneNamespace()
            + "/sa/"
            + properties.kubernetes().serviceAccount();
    return new EnvoyBootstrap.ControlPlane(
        settings.dnsNames().get(0),
        port,
        Optional.of(new EnvoyBootstrap.ControlPlaneTls(self, EnvoyBootstrap.DEFAULT_SDS_SOCKET)),
        delta,
        statsFlushInterval());
  }

  /** Stats to the telemetry collector's Metrics Service, unless the collector is off. */
  private Optional<Duration> statsFlushInterval() {
    return properties.telemetry().enabled()
        ? Optional.of(EnvoyBootstrap.DEFAULT_STATS_FLUSH_INTERVAL)
        : Optional.empty();
  }

  /** {@code sidecar} or {@code gateway}. */
  static Optional<EnvoyBootstrap.ProxyType> proxyType(String value) {
    for (EnvoyBootstrap.ProxyType type : EnvoyBootstrap.ProxyType.values()) {
      if (type.metadataValue().equals(value.toLowerCase(Locale.ROOT))) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }

  /** {@code key=value} pairs as labels; each one that is not a Kubernetes label is an error. */
  static Map<String, String> labels(List<String> pairs, FieldErrors errors) {
    Map<String, String> labels = new HashMap<>();
    if (pairs == null) {
      return labels;
    }
    for (int i = 0; i < pairs.size(); i++) {
      String pair = pairs.get(i);
      String field = FieldErrors.indexed("label", i);
      int equals = pair.indexOf('=');
      if (equals < 0) {
        errors.add(field, "\"" + pair + "\" is not key=value");
        continue;
      }
      String key = pair.substring(0, equals);
      String value = pair.substring(equals + 1);
      int slash = key.lastIndexOf('/');
      String name = key.substring(slash + 1);
      boolean validKey =
          LABEL_NAME.matcher(name).matches()
              && (slash < 0
                  || (slash <= 253 && LABEL_PREFIX.matcher(key.substring(0, slash)).matches()));
      if (!validKey) {
        errors.add(field, "\"" + key + "\" is not a label key");
      } else if (!value.isEmpty() && !LABEL_NAME.matcher(value).matches()) {
        errors.add(field, "\"" + value + "\" is not a label value");
      } else {
        labels.put(key, value);
      }
    }
    return labels;
  }

  /**
   * The egress hosts of a bootstrap: each value an entry, or several separated by commas; each
   * entry that is not one is an error (a bootstrap is written by hand, so it is refused, unlike an
   * annotation, which the injection webhook ignores with a warning).
   */
  static List<EgressHosts.Host> egress(List<String> values, FieldErrors errors) {
    if (values == null) {
      return List.of();
    }
    List<String> entries = new ArrayList<>();
    values.forEach(value -> entries.addAll(EgressHosts.split(value)));
    Validated<List<EgressHosts.Host>> hosts = EgressHosts.parse(entries);
    errors.addAll(hosts.errors());
    return hosts instanceof Validated.Valid<List<EgressHosts.Host>> valid
        ? valid.value()
        : List.of();
  }

  /** Whether {@code text} is an IPv4 or IPv6 literal; never a DNS lookup. */
  static boolean isIpAddress(String text) {
    if (IPV4.matcher(text).matches()) {
      return true;
    }
    if (!text.contains(":") || !IPV6_CHARACTERS.matcher(text).matches()) {
      return false;
    }
    try {
      // With a colon the JDK parses a literal and never resolves it.
      return InetAddress.getByName(text) != null;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
