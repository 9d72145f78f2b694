package dev.weft.cli;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;

/** Kubernetes API failures as one line a user can act on. */
final class Kube {

  private Kube() {}

  static String describe(KubernetesClientException e) {
    int code = e.getCode();
    if (code == 401) {
      return "the API server did not accept your credentials (401); log in again or check"
          + " --kubeconfig/--context";
    }
    if (code == 403) {
      return "the API server forbids it (403): "
          + reason(e)
          + "; ask for RBAC on the resource, or use another --context";
    }
    if (code == 404) {
      return reason(e) + " (404)";
    }
    if (code > 0) {
      return "the API server answered " + code + ": " + reason(e);
    }
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConnectException) {
        return "cannot reach the Kubernetes API server; check kubectl cluster-info, --kubeconfig"
            + " and --context";
      }
    }
    return "the Kubernetes API failed: " + firstLine(e.getMessage());
  }

  private static String reason(KubernetesClientException e) {
    if (e.getStatus() != null && e.getStatus().getMessage() != null) {
      return e.getStatus().getMessage();
    }
    return firstLine(e.getMessage());
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "no detail";
    }
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }
}
