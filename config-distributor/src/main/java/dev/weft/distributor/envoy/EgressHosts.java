package dev.weft.distributor.envoy;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Services an Envoy sidecar's workload calls, as it declares them (Istio's {@code Sidecar}
 * egress hosts): entries {@code <namespace>/<service>}, where the namespace may be {@code *} (any)
 * or {@code .} (the sidecar's own) and the service {@code *} (any). A sidecar that declares them
 * gets the outbound filter chains and clusters of those Services only; see docs/envoy.md.
 *
 * <p>The declaration travels in the node's metadata ({@link #METADATA_KEY}), as a list of strings;
 * the injection webhook takes it from the Pod's annotation {@code weft.dev/egress}, a string of
 * entries separated by commas or white space ({@link #split}).
 *
 * <p>Pure functions over immutable values.
 */
public final class EgressHosts {

  /** The node metadata key of the declaration: a list of entries (or one string of them). */
  public static final String METADATA_KEY = "EGRESS";

  /** A namespace or service that stands for any. */
  public static final String ANY = "*";

  /** The namespace that stands for the sidecar's own. */
  public static final String OWN_NAMESPACE = ".";

  /** A namespace name: an RFC 1123 label, as Kubernetes requires. */
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** A Service name: an RFC 1035 label, as Kubernetes requires. */
  private static final Pattern SERVICE = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  private static final Pattern SEPARATORS = Pattern.compile("[,\\s]+");

  private EgressHosts() {}

  /**
   * One entry: which namespace (a name, {@link #ANY} or {@link #OWN_NAMESPACE}) and which Service
   * there (a name or {@link #ANY}).
   */
  public record Host(String namespace, String service) implements Comparable<Host> {

    /** Whether it stands for Services of more than one name or namespace. */
    public boolean isPattern() {
      return namespace.equals(ANY) || service.equals(ANY);
    }

    /** The entry as it is written: {@code <namespace>/<service>}. */
    @Override
    public String toString() {
      return namespace + "/" + service;
    }

    @Override
    public int compareTo(Host other) {
      int byNamespace = namespace.compareTo(other.namespace);
      return byNamespace != 0 ? byNamespace : service.compareTo(other.service);
    }
  }

  /** The entries of an annotation's value: separated by commas or white space. */
  public static List<String> split(String text) {
    List<String> entries = new ArrayList<>();
    for (String entry : SEPARATORS.split(text.strip())) {
      if (!entry.isEmpty()) {
        entries.add(entry);
      }
    }
    return entries;
  }

  /**
   * The entries as hosts, in the order given; or, for each entry that is not one, an error at
   * {@code egress[i]} whose reason quotes the entry and says what is wrong with it.
   */
  public static Validated<List<Host>> parse(List<String> entries) {
    FieldErrors errors = new FieldErrors();
    List<Host> hosts = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      String entry = entries.get(i);
      String path = FieldErrors.indexed("egress", i);
      int slash = entry.indexOf('/');
      if (slash < 0 || slash != entry.lastIndexOf('/')) {
        errors.add(
            path,
            "\""
                + entry
                + "\" is not <namespace>/<service> (such as shop/checkout, shop/*, */checkout or"
                + " ./*)");
        continue;
      }
      String namespace = entry.substring(0, slash);
      String service = entry.substring(slash + 1);
      if (!namespace.equals(ANY)
          && !namespace.equals(OWN_NAMESPACE)
          && !NAMESPACE.matcher(namespace).matches()) {
        errors.add(
            path,
            "\""
                + entry
                + "\": \""
                + namespace
                + "\" is not a namespace name, \"*\" (any) or \".\" (the proxy's own)");
        continue;
      }
      if (!service.equals(ANY) && !SERVICE.matcher(service).matches()) {
        errors.add(
            path, "\"" + entry + "\": \"" + service + "\" is not a Service name or \"*\" (any)");
        continue;
      }
      hosts.add(new Host(namespace, service));
    }
    return errors.toResult(() -> List.copyOf(hosts));
  }
}
