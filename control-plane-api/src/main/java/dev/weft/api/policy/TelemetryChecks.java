package dev.weft.api.policy;

import dev.weft.api.validation.FieldErrors;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Pattern;

/** Validates the sections of a {@link TelemetrySpec} and turns them into values. */
final class TelemetryChecks {

  private TelemetryChecks() {}

  // RFC 1123 labels: what a Service's DNS name, or any collector's host name, is made of.
  private static final Pattern DNS_LABEL =
      Pattern.compile("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$");

  private static final Pattern IPV6_TEXT = Pattern.compile("^[0-9A-Fa-f:.]{2,45}$");

  static Optional<TelemetryValues> tracing(TelemetrySpec.Tracing spec, FieldErrors errors) {
    String path = "spec.tracing";
    if (spec == null) {
      errors.add(path, "required: give randomSamplingPercentage, otlp, or both");
      return Optional.empty();
    }
    if (spec.getRandomSamplingPercentage() == null && spec.getOtlp() == null) {
      errors.add(path, "sets nothing: give randomSamplingPercentage, otlp, or both");
      return Optional.empty();
    }
    int before = errors.toList().size();
    OptionalDouble percentage =
        spec.getRandomSamplingPercentage() == null
            ? OptionalDouble.empty()
            : PolicyFields.percentage(
                path + ".randomSamplingPercentage", spec.getRandomSamplingPercentage(), errors);
    Optional<TelemetryValues.OtlpEndpoint> otlp = Optional.empty();
    if (spec.getOtlp() != null) {
      otlp = endpoint(path + ".otlp.endpoint", spec.getOtlp().getEndpoint(), errors);
    }
    if (errors.toList().size() > before) {
      return Optional.empty();
    }
    return Optional.of(new TelemetryValues(percentage, otlp));
  }

  /** Parses {@code host:port}: a DNS name or IPv4 address, or {@code [IPv6]}, and a port. */
  static Optional<TelemetryValues.OtlpEndpoint> endpoint(
      String path, String text, FieldErrors errors) {
    if (text == null || text.isEmpty()) {
      errors.add(path, "required: host:port of the collector's OTLP/gRPC receiver");
      return Optional.empty();
    }
    if (text.contains("://")) {
      errors.add(
          path,
          "\""
              + text
              + "\" is a URL; give host:port without a scheme (proxies speak OTLP over gRPC to it)");
      return Optional.empty();
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      errors.add(
          path, "\"" + text + "\" is not host:port (such as otel-collector.observability:4317)");
      return Optional.empty();
    }
    String host = text.substring(0, colon);
    String portText = text.substring(colon + 1);
    if (!portText.chars().allMatch(c -> c >= '0' && c <= '9')
        || portText.length() > 5
        || Integer.parseInt(portText) < 1
        || Integer.parseInt(portText) > 65535) {
      errors.add(path, "port \"" + portText + "\" is not a number from 1 to 65535");
      return Optional.empty();
    }
    int port = Integer.parseInt(portText);
    if (host.startsWith("[") && host.endsWith("]")) {
      String address = host.substring(1, host.length() - 1);
      if (!isIpv6(address)) {
        errors.add(path, "\"" + host + "\" is not an IPv6 address in brackets");
        return Optional.empty();
      }
      return Optional.of(new TelemetryValues.OtlpEndpoint(address, port));
    }
    if (!isDnsName(host)) {
      errors.add(
          path,
          "host \""
              + host
              + "\" is not a DNS name or an IPv4 address (an IPv6 address goes in brackets)");
      return Optional.empty();
    }
    return Optional.of(new TelemetryValues.OtlpEndpoint(host, port));
  }

  private static boolean isDnsName(String host) {
    if (host.length() > 253) {
      return false;
    }
    String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (name.isEmpty()) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (!DNS_LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpv6(String address) {
    if (!address.contains(":") || !IPV6_TEXT.matcher(address).matches()) {
      return false;
    }
    try {
      // A literal with a colon is parsed, never looked up.
      return InetAddress.getByName(address).getAddress().length == 16;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
