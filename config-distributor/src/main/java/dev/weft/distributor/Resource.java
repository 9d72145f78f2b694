package dev.weft.distributor;

import com.google.common.hash.Hashing;
import com.google.protobuf.Any;
import com.google.protobuf.Message;

/**
 * One xDS resource, serialized once and shared by every proxy that is sent it.
 *
 * @param name the resource's name
 * @param version a hash of its content: equal content, equal version, across restarts too
 * @param body the resource packed as it goes on the wire
 */
record Resource(String name, String version, Any body) {

  static Resource of(String name, Message message) {
    Any body = Any.pack(message);
    // 64 bits of SHA-256: a collision would hide a change, so not a weaker hash.
    String version = Hashing.sha256().hashBytes(body.getValue().toByteArray()).toString();
    return new Resource(name, version.substring(0, 16), body);
  }
}
