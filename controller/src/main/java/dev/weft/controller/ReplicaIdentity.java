package dev.weft.controller;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * This replica's name: {@code weft.kubernetes.identity} (the chart sets the Pod name), else the
 * host name. The leader election knows replicas by it, and the debug API says which replica each
 * proxy is connected to.
 */
final class ReplicaIdentity {

  private ReplicaIdentity() {}

  static String of(WeftProperties properties) {
    if (!properties.kubernetes().identity().isEmpty()) {
      return properties.kubernetes().identity();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "weft-" + ProcessHandle.current().pid();
    }
  }
}
