package dev.weft.distributor;

import com.google.common.hash.HashCode;
import com.google.common.hash.Hashing;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import java.nio.charset.StandardCharsets;

/**
 * One xDS resource, serialized once and shared by every proxy that is sent it.
 *
 * @param name the resource's name
 * @param version a hash of its content: equal content, equal version, across restarts too
 * @param fingerprint 64 bits of a hash of its name and content, to fingerprint whole responses
 *     cheaply
 * @param body the resource packed as it goes on the wire
 */
record Resource(String name, String version, long fingerprint, Any body) {

  static Resource of(String name, Message message) {
    // The type URL as bytes: a String field would be encoded again every time the Any is written.
    Any body =
        Any.newBuilder()
            .setTypeUrlBytes(
                ByteString.copyFromUtf8(
                    "type.googleapis.com/" + message.getDescriptorForType().getFullName()))
            .setValue(message.toByteString())
            .build();
    byte[] bytes = body.getValue().toByteArray();
    // 64 bits of SHA-256: a collision would hide a change, so not a weaker hash.
    String version = Hashing.sha256().hashBytes(bytes).toString().substring(0, 16);
    HashCode fingerprint =
        Hashing.sha256()
            .newHasher()
            .putString(name, StandardCharsets.UTF_8)
            .putByte((byte) 0)
            .putBytes(bytes)
            .hash();
    return new Resource(name, version, fingerprint.asLong(), body);
  }
}
