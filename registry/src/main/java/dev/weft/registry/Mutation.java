package dev.weft.registry;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/** One change a source asks the registry's writer to make. Values are decoded and validated. */
sealed interface Mutation {

  record PutService(MeshService service) implements Mutation {}

  record PutSlice(DecodedSlice slice) implements Mutation {}

  record PutPod(PodInfo pod) implements Mutation {}

  record PutConfig(MeshConfig config) implements Mutation {}

  record Delete(ObjectKey key) implements Mutation {}

  /** Records a rejection; replaces an earlier one for the same origin and object. */
  record Reject(Rejection rejection) implements Mutation {}

  /** Clears the rejection of one object from one origin, if there is one. */
  record ClearRejection(String origin, ObjectKey key) implements Mutation {}

  /** Clears every rejection from one origin, such as a file that is read again. */
  record ClearOrigin(String origin) implements Mutation {}

  /** Marks a source's initial state as fully applied. */
  record MarkSynced(String source) implements Mutation {}

  /** An EndpointSlice after validation. */
  record DecodedSlice(
      ObjectKey key, ServiceKey service, List<SlicePort> ports, List<SliceEndpoint> endpoints) {}

  /** A port an EndpointSlice serves, named as the Service port it maps to. */
  record SlicePort(String name, int port) {}

  /**
   * An endpoint of an EndpointSlice, before it is joined with its Pod. The Pod is kept as its
   * namespace and name (null when the endpoint is not a Pod); its key is built only when needed.
   */
  record SliceEndpoint(
      String address,
      EndpointConditions conditions,
      String zone,
      String node,
      String podNamespace,
      String podName) {

    /** The key of the endpoint's Pod, or null when it has none. */
    ObjectKey pod() {
      return podName == null ? null : new ObjectKey(ResourceKind.POD, podNamespace, podName);
    }

    boolean samePod(SliceEndpoint other) {
      return Objects.equals(podName, other.podName)
          && Objects.equals(podNamespace, other.podNamespace);
    }
  }

  /** What the registry keeps of a Pod: the identity and labels its endpoints inherit. */
  record PodInfo(ObjectKey key, String serviceAccount, Map<String, String> labels) {}
}
