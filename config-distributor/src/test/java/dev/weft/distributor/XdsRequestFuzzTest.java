package dev.weft.distributor;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import com.google.rpc.Status;
import dev.weft.registry.ServiceKey;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz tests of what an xDS client sends (see docs/fuzzing.md): the state-of-the-world requests
 * that {@link SotwRequest.Marshaller} reads from the wire, and the resource names in them.
 *
 * <p>The contract checked: a malformed request fails its call with INTERNAL and nothing else; a
 * request that parses can always have its names decoded, holds no more names than its bytes allow,
 * and agrees with protobuf's own parser of {@code DiscoveryRequest}; a name parses into a {@link
 * ResourceRef} without an exception, whatever it is.
 *
 * <p>In a normal build each method runs only on its inputs in {@code XdsRequestFuzzTestInputs/<
 * method>}; with {@code -Dweft.fuzz=1 -Dtest=XdsRequestFuzzTest#<method>} Jazzer fuzzes it.
 */
@Timeout(30) // per input
class XdsRequestFuzzTest {

  private static final int VERSION_INFO = 1;
  private static final int NODE = 2;
  private static final int ERROR_DETAIL = 6;

  /**
   * Arbitrary bytes as a DiscoveryRequest off the wire. The committed inputs are encoded requests:
   * a first request with a node, an ACK, a NACK, a wildcard, and one with names between other
   * fields.
   */
  @FuzzTest(maxDuration = "3m")
  void parseArbitraryRequest(byte[] raw) {
    SotwRequest request;
    try {
      request = new SotwRequest.Marshaller().parse(new ByteArrayInputStream(raw));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != io.grpc.Status.Code.INTERNAL) {
        throw new AssertionError("a malformed request must fail with INTERNAL", e);
      }
      request = null;
    }
    DiscoveryRequest proto;
    try {
      proto = DiscoveryRequest.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      proto = null;
    }
    if (request == null) {
      if (proto != null && knownFieldsWellTyped(raw)) {
        throw new AssertionError("refused a request protobuf reads: " + proto);
      }
      return;
    }
    // Decoding the names must always work on a request that parsed (SotwStream relies on it).
    List<String> names = request.resourceNames();
    if (names.size() != request.names().count() || names.size() > raw.length / 2) {
      throw new AssertionError(
          names.size() + " names, counted " + request.names().count() + ", in " + raw.length);
    }
    if (proto != null && knownFieldsWellTyped(raw)) {
      agree(proto, request);
    }
  }

  /**
   * Well-formed requests with fuzzed fields, their names in one run or between other fields: the
   * parse gives back every field, and the names' identity does not depend on the layout.
   */
  @FuzzTest(maxDuration = "3m")
  void parseWellFormedRequest(FuzzedDataProvider data) throws IOException {
    DiscoveryRequest.Builder builder = DiscoveryRequest.newBuilder();
    if (data.consumeBoolean()) {
      builder.setNode(
          Node.newBuilder().setId(data.consumeString(20)).setCluster(data.consumeString(20)));
    }
    builder.setVersionInfo(data.consumeString(20));
    int count = data.consumeInt(0, 20);
    for (int i = 0; i < count; i++) {
      builder.addResourceNames(
          data.consumeBoolean() ? "*" : data.consumeString(data.consumeInt(0, 80)));
    }
    builder.setTypeUrl(data.pickValue(ResourceType.values()).typeUrl());
    builder.setResponseNonce(data.consumeString(10));
    if (data.consumeBoolean()) {
      builder.setErrorDetail(
          Status.newBuilder().setCode(data.consumeInt()).setMessage(data.consumeString(40)));
    }
    // As read back: strings that UTF-8 cannot carry (lone surrogates) come back changed.
    DiscoveryRequest proto = DiscoveryRequest.parseFrom(builder.build().toByteArray());
    byte[] contiguous = proto.toByteArray();
    byte[] interleaved = interleaved(proto, data);

    SotwRequest one = parse(contiguous);
    SotwRequest other = parse(interleaved);
    agree(proto, one);
    agree(proto, other);
    if (!one.names().equals(other.names())) {
      throw new AssertionError("the same names in another layout compare unequal: " + proto);
    }
    if (!one.names().equals(parse(differentNonce(proto)).names())) {
      throw new AssertionError("the names' identity depends on another field: " + proto);
    }
  }

  /**
   * Arbitrary text as a requested resource name, of every type, under a default or fuzzed cluster
   * domain: it parses into a ref (naming a Service port, a server address, or nothing) and never
   * throws; what it names is consistent with the names Weft serves.
   */
  @FuzzTest(maxDuration = "3m")
  void parseResourceName(FuzzedDataProvider data) {
    ResourceNames names;
    if (data.consumeBoolean()) {
      names = new ResourceNames("cluster.local");
    } else {
      try {
        names = new ResourceNames(data.consumeString(30));
      } catch (IllegalArgumentException documented) {
        return;
      }
    }
    String name = data.consumeRemainingAsString();
    for (ResourceType type : ResourceType.values()) {
      ResourceRef ref = ResourceRef.parse(type, name, names);
      ResourceRef again = ResourceRef.parse(type, name, names);
      if (ref.type() != type
          || !ref.name().equals(name)
          || !ref.equals(again)
          || ref.hashCode() != again.hashCode()) {
        throw new AssertionError("ref of " + type + " " + name + " is " + ref);
      }
      checkRef(names, ref);
    }
  }

  private static void checkRef(ResourceNames names, ResourceRef ref) {
    String name = ref.name();
    if (ref.isServerListener()) {
      ResourceNames.ServerAddress server = ref.server();
      if (ref.type() != ResourceType.LISTENER
          || !validPort(server.port())
          || server.ip().isEmpty()
          || !name.startsWith("weft/inbound?address=")) {
        throw new AssertionError(name + " parsed as server listener " + server);
      }
      return;
    }
    ServiceKey service = ref.service();
    if (service == null) {
      return;
    }
    if (service.name().isEmpty()
        || service.namespace().isEmpty()
        || !(ref.port() == ResourceNames.ClientTarget.ONLY_PORT || validPort(ref.port()))) {
      throw new AssertionError(name + " parsed as " + service + " port " + ref.port());
    }
    if (ref.type() != ResourceType.LISTENER) {
      // Clusters, endpoints and routes go by the canonical name only.
      if (!names.canonical(service, ref.port()).equals(name)) {
        throw new AssertionError(name + " is not the canonical name of " + service);
      }
      return;
    }
    // Every client listener name maps back to the Service port it names.
    int port = ref.port() == ResourceNames.ClientTarget.ONLY_PORT ? 80 : ref.port();
    Optional<ResourceNames.ClientTarget> canonical =
        names.parseCanonical(names.canonical(service, port));
    if (!canonical.equals(Optional.of(new ResourceNames.ClientTarget(service, port)))) {
      throw new AssertionError(name + " names " + service + ", whose name parses as " + canonical);
    }
  }

  private static boolean validPort(int port) {
    return port >= 1 && port <= 65535;
  }

  private static SotwRequest parse(byte[] raw) throws IOException {
    // Through the marshaller, from a stream that announces fewer bytes than it has, as gRPC's may.
    InputStream stream =
        new ByteArrayInputStream(raw) {
          @Override
          public synchronized int available() {
            return super.available() / 2;
          }
        };
    return new SotwRequest.Marshaller().parse(stream);
  }

  /** The request's fields one by one, each name in its own place among the other fields. */
  private static byte[] interleaved(DiscoveryRequest proto, FuzzedDataProvider data)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    List<IoWrite> fields = new ArrayList<>();
    fields.add(() -> out.writeString(VERSION_INFO, proto.getVersionInfo()));
    if (proto.hasNode()) {
      fields.add(() -> out.writeMessage(NODE, proto.getNode()));
    }
    fields.add(() -> out.writeString(4, proto.getTypeUrl()));
    fields.add(() -> out.writeString(5, proto.getResponseNonce()));
    if (proto.hasErrorDetail()) {
      fields.add(() -> out.writeMessage(ERROR_DETAIL, proto.getErrorDetail()));
    }
    // Names keep their order; other fields go anywhere between them.
    List<IoWrite> layout = new ArrayList<>();
    for (String name : proto.getResourceNamesList()) {
      layout.add(() -> out.writeString(3, name));
    }
    for (IoWrite field : fields) {
      layout.add(data.consumeInt(0, layout.size()), field);
    }
    for (IoWrite write : layout) {
      write.run();
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] differentNonce(DiscoveryRequest proto) {
    return proto.toBuilder().setResponseNonce(proto.getResponseNonce() + "x").build().toByteArray();
  }

  private interface IoWrite {
    void run() throws IOException;
  }

  /** What SotwRequest read equals what protobuf read. */
  private static void agree(DiscoveryRequest proto, SotwRequest request) {
    boolean same =
        proto.getVersionInfo().equals(request.versionInfo())
            && proto.getTypeUrl().equals(request.typeUrl())
            && proto.getResponseNonce().equals(request.responseNonce())
            && proto.getResourceNamesList().equals(request.resourceNames())
            && Objects.equals(proto.hasNode() ? proto.getNode() : null, request.node())
            && Objects.equals(
                proto.hasErrorDetail() ? proto.getErrorDetail() : null, request.errorDetail());
    if (!same) {
      throw new AssertionError(
          "protobuf read "
              + proto
              + " but SotwRequest read version "
              + request.versionInfo()
              + ", type "
              + request.typeUrl()
              + ", nonce "
              + request.responseNonce()
              + ", names "
              + request.resourceNames()
              + ", node "
              + request.node()
              + ", error "
              + request.errorDetail());
    }
  }

  /**
   * Whether every DiscoveryRequest field in {@code raw} has the wire type of its declaration
   * (length-delimited), and the message fields (node, error detail) appear at most once. Protobuf
   * keeps a field of another wire type as an unknown field, and merges a message field that appears
   * twice; SotwRequest does neither (see docs/fuzzing.md), so the two are compared only when that
   * does not matter.
   */
  private static boolean knownFieldsWellTyped(byte[] raw) {
    CodedInputStream in = CodedInputStream.newInstance(raw);
    int nodes = 0;
    int errors = 0;
    try {
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        int field = WireFormat.getTagFieldNumber(tag);
        if (field >= VERSION_INFO
            && field <= ERROR_DETAIL
            && WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          return false;
        }
        nodes += field == NODE ? 1 : 0;
        errors += field == ERROR_DETAIL ? 1 : 0;
        in.skipField(tag);
      }
      return nodes <= 1 && errors <= 1;
    } catch (IOException e) {
      return false;
    }
  }
}
