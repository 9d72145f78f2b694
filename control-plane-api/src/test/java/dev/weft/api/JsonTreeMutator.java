package dev.weft.api;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Structure-aware mutations of a parsed manifest, for fuzz tests (this module's and the registry's,
 * through this module's test jar): the fuzzer's bytes choose a node of the tree and what to do to
 * it (replace it with null, a number, a string, an empty or null-holding container; remove, add or
 * duplicate entries). Mutated manifests stay YAML, so they get past the parser to the decoders and
 * validators, where byte-level mutation rarely reaches.
 */
public final class JsonTreeMutator {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Field names the manifests use, so that added fields are often ones the model knows. */
  private static final List<String> FIELD_NAMES =
      List.of(
          "name",
          "namespace",
          "labels",
          "port",
          "ports",
          "targetPort",
          "protocol",
          "clusterIP",
          "clusterIPs",
          "addresses",
          "endpoints",
          "conditions",
          "targetRef",
          "addressType",
          "spec",
          "metadata",
          "rules",
          "matches",
          "backendRefs",
          "parentRefs",
          "weight",
          "timeouts",
          "retry",
          "headers",
          "path",
          "method",
          "targetRefs",
          "loadBalancer",
          "ringHash",
          "hashOn",
          "delay",
          "abort",
          "percentage",
          "codes",
          "grpcStatuses");

  private JsonTreeMutator() {}

  /** Applies between one and {@code max} mutations to {@code root} in place. */
  public static void mutate(JsonNode root, FuzzedDataProvider data, int max) {
    int count = data.consumeInt(1, max);
    for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
      List<JsonNode> containers = new ArrayList<>();
      collectContainers(root, containers);
      JsonNode target = data.pickValue(containers);
      if (target instanceof ObjectNode object) {
        mutateObject(object, data);
      } else if (target instanceof ArrayNode array) {
        mutateArray(array, data);
      }
    }
  }

  private static void collectContainers(JsonNode node, List<JsonNode> out) {
    if (!node.isContainer()) {
      return;
    }
    out.add(node);
    for (JsonNode child : node.values()) {
      collectContainers(child, out);
    }
  }

  private static void mutateObject(ObjectNode object, FuzzedDataProvider data) {
    List<String> names = new ArrayList<>(object.propertyNames());
    boolean add = names.isEmpty() || data.consumeInt(0, 3) == 0;
    if (add) {
      String name = data.consumeBoolean() ? data.pickValue(FIELD_NAMES) : data.consumeString(12);
      object.set(name, value(data, null));
      return;
    }
    String name = data.pickValue(names);
    if (data.consumeInt(0, 5) == 0) {
      object.remove(name);
    } else {
      object.set(name, value(data, object.get(name)));
    }
  }

  private static void mutateArray(ArrayNode array, FuzzedDataProvider data) {
    if (array.isEmpty() || data.consumeInt(0, 3) == 0) {
      array.insert(data.consumeInt(0, array.size()), value(data, null));
      return;
    }
    int index = data.consumeInt(0, array.size() - 1);
    switch (data.consumeInt(0, 3)) {
      case 0 -> array.remove(index);
      case 1 -> {
        for (int copies = data.consumeInt(1, 20); copies > 0; copies--) {
          array.add(array.get(index).deepCopy());
        }
      }
      default -> array.set(index, value(data, array.get(index)));
    }
  }

  /** A replacement for {@code previous} (null when adding). */
  private static JsonNode value(FuzzedDataProvider data, JsonNode previous) {
    return switch (data.consumeInt(0, 12)) {
      case 0 -> NODES.nullNode();
      case 1 -> NODES.numberNode(data.consumeInt());
      case 2 -> NODES.numberNode(data.consumeLong());
      case 3 -> NODES.numberNode(data.consumeDouble());
      case 4 -> NODES.numberNode(new BigInteger(1, data.consumeBytes(16)));
      case 5 -> NODES.booleanNode(data.consumeBoolean());
      case 6 -> NODES.objectNode();
      case 7 -> NODES.arrayNode().addNull();
      case 8 -> NODES.arrayNode();
      case 9 -> {
        ArrayNode wrapped = NODES.arrayNode();
        yield previous == null ? wrapped.add(NODES.stringNode("")) : wrapped.add(previous);
      }
      case 10 ->
          NODES.stringNode(
              previous != null && previous.isValueNode()
                  ? previous.asString() + data.consumeString(4)
                  : data.consumeString(20));
      default -> NODES.stringNode(data.consumeString(40));
    };
  }
}
