package dev.weft.distributor;

import com.google.common.base.Utf8;
import com.google.common.hash.HashCode;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A state-of-the-world {@code DiscoveryRequest}, parsed except for its resource names.
 *
 * <p>Why: nearly every request on a busy stream is an ACK that repeats the names of the previous
 * one, and a proxy may name hundreds. Decoding them (UTF-8 to a String each, then hashing each to
 * look it up) was the largest cost of serving ACKs. Here the names stay bytes with a 128-bit hash
 * and a count; a stream decodes them only when the hash differs from the previous request's. Two
 * different name lists sharing a hash is a 2^-128 event.
 *
 * <p>Immutable; the raw bytes are never modified after parsing.
 */
final class SotwRequest {

  private static final int VERSION_INFO = 1;
  private static final int NODE = 2;
  private static final int RESOURCE_NAMES = 3;
  private static final int TYPE_URL = 4;
  private static final int RESPONSE_NONCE = 5;
  private static final int ERROR_DETAIL = 6;

  private final byte[] raw;
  private final Node node;
  private final String versionInfo;
  private final String typeUrl;
  private final String responseNonce;
  private final Status errorDetail;
  private final int nameCount;
  private final int longestName;
  private final HashCode namesHash;

  private SotwRequest(
      byte[] raw,
      Node node,
      String versionInfo,
      String typeUrl,
      String responseNonce,
      Status errorDetail,
      int nameCount,
      int longestName,
      HashCode namesHash) {
    this.raw = raw;
    this.node = node;
    this.versionInfo = versionInfo;
    this.typeUrl = typeUrl;
    this.responseNonce = responseNonce;
    this.errorDetail = errorDetail;
    this.nameCount = nameCount;
    this.longestName = longestName;
    this.namesHash = namesHash;
  }

  static SotwRequest parse(byte[] raw) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(raw);
    Node node = null;
    String versionInfo = "";
    String typeUrl = "";
    String responseNonce = "";
    Status errorDetail = null;
    int nameCount = 0;
    int longestName = 0;
    // Encoders write a repeated field's entries one after the other, so the names are one run of
    // bytes (tags and lengths included), hashed in one call; a request that interleaves them
    // with other fields is hashed name by name instead.
    int runStart = -1;
    int runEnd = -1;
    boolean oneRun = true;
    for (int fieldStart = in.getTotalBytesRead(), tag = in.readTag();
        tag != 0;
        fieldStart = in.getTotalBytesRead(), tag = in.readTag()) {
      int field = WireFormat.getTagFieldNumber(tag);
      if (field >= VERSION_INFO
          && field <= ERROR_DETAIL
          && WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        // Every field read here is length-delimited; read as one anyway, a field of another type
        // would be skipped differently by the walks that come later (the names, their hash).
        throw new InvalidProtocolBufferException(
            "field " + field + " has wire type " + WireFormat.getTagWireType(tag));
      }
      switch (field) {
        case NODE -> node = Node.parseFrom(in.readBytes());
        case VERSION_INFO -> versionInfo = in.readStringRequireUtf8();
        case RESOURCE_NAMES -> {
          int length = in.readRawVarint32();
          longestName = Math.max(longestName, length);
          int start = in.getTotalBytesRead();
          in.skipRawBytes(length);
          // Checked now, so that decoding the names later cannot fail.
          if (!Utf8.isWellFormed(raw, start, length)) {
            throw new InvalidProtocolBufferException("resource_names: a name is not UTF-8");
          }
          if (runStart < 0) {
            runStart = fieldStart;
          } else if (fieldStart != runEnd) {
            oneRun = false;
          }
          runEnd = in.getTotalBytesRead();
          nameCount++;
        }
        case TYPE_URL -> typeUrl = in.readStringRequireUtf8();
        case RESPONSE_NONCE -> responseNonce = in.readStringRequireUtf8();
        case ERROR_DETAIL -> errorDetail = Status.parseFrom(in.readBytes());
        default -> in.skipField(tag);
      }
    }
    HashCode namesHash =
        oneRun
            ? Hashing.murmur3_128().hashBytes(raw, Math.max(runStart, 0), runEnd - runStart)
            : hashNameByName(raw);
    return new SotwRequest(
        raw,
        node,
        versionInfo,
        typeUrl,
        responseNonce,
        errorDetail,
        nameCount,
        longestName,
        namesHash);
  }

  /** The hash of the names' fields, tags and lengths included, as if they were one run. */
  private static HashCode hashNameByName(byte[] raw) throws IOException {
    Hasher names = Hashing.murmur3_128().newHasher();
    CodedInputStream in = CodedInputStream.newInstance(raw);
    for (int fieldStart = 0, tag = in.readTag();
        tag != 0;
        fieldStart = in.getTotalBytesRead(), tag = in.readTag()) {
      if (WireFormat.getTagFieldNumber(tag) == RESOURCE_NAMES) {
        in.skipRawBytes(in.readRawVarint32());
        names.putBytes(raw, fieldStart, in.getTotalBytesRead() - fieldStart);
      } else {
        in.skipField(tag);
      }
    }
    return names.hash();
  }

  /** The node, when the request carries one (clients may send it on the first request only). */
  Node node() {
    return node;
  }

  String versionInfo() {
    return versionInfo;
  }

  String typeUrl() {
    return typeUrl;
  }

  String responseNonce() {
    return responseNonce;
  }

  /** The NACK's error, or null for a request or an ACK. */
  Status errorDetail() {
    return errorDetail;
  }

  /**
   * What identifies the resource names of this request, in order: equal for two requests exactly
   * when they name the same resources in the same order. Small, so a stream keeps it rather than
   * the request.
   */
  Names names() {
    return new Names(nameCount, namesHash);
  }

  /** How many resource names the request carries, without decoding them. */
  int nameCount() {
    return nameCount;
  }

  /** The length of its longest resource name, in bytes of UTF-8, without decoding them. */
  int longestName() {
    return longestName;
  }

  /** The count and 128-bit hash of a request's resource names. */
  record Names(int count, HashCode hash) {}

  /** Decodes the resource names; call only when they may have changed. */
  List<String> resourceNames() {
    if (nameCount == 0) {
      return List.of();
    }
    List<String> names = new ArrayList<>(nameCount);
    CodedInputStream in = CodedInputStream.newInstance(raw);
    try {
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (WireFormat.getTagFieldNumber(tag) == RESOURCE_NAMES) {
          names.add(in.readStringRequireUtf8());
        } else {
          in.skipField(tag);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("a request that parsed once no longer parses", e);
    }
    return names;
  }

  /**
   * The message's bytes in one array of the right size: gRPC's streams know their length, so this
   * avoids {@code readAllBytes}'s chunks and the copy that joins them.
   */
  private static byte[] readFully(InputStream stream) throws IOException {
    int announced = stream.available();
    if (announced <= 0) {
      return stream.readAllBytes();
    }
    byte[] bytes = new byte[announced];
    int read = stream.readNBytes(bytes, 0, announced);
    if (read < announced) {
      return Arrays.copyOf(bytes, read);
    }
    int next = stream.read();
    if (next < 0) {
      return bytes;
    }
    // available() was only an estimate: take the rest as it comes.
    ByteArrayOutputStream all = new ByteArrayOutputStream(announced * 2);
    all.write(bytes);
    all.write(next);
    stream.transferTo(all);
    return all.toByteArray();
  }

  /** Parses requests on the transport thread; a malformed one fails the call with INTERNAL. */
  static final class Marshaller implements MethodDescriptor.Marshaller<SotwRequest> {
    @Override
    public InputStream stream(SotwRequest request) {
      return new ByteArrayInputStream(request.raw);
    }

    @Override
    public SotwRequest parse(InputStream stream) {
      try {
        return SotwRequest.parse(readFully(stream));
      } catch (IOException e) {
        throw io.grpc.Status.INTERNAL
            .withDescription("malformed DiscoveryRequest: " + e.getMessage())
            .withCause(e)
            .asRuntimeException();
      }
    }
  }
}
