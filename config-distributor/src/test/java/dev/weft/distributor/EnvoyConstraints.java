package dev.weft.distributor;

import com.google.common.io.BaseEncoding;
import com.google.common.net.InetAddresses;
import com.google.common.primitives.Bytes;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.AnyRules;
import io.envoyproxy.pgv.validate.Validate.BytesRules;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.EnumRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.KnownRegex;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Envoy's own constraints on a protobuf message: the protoc-gen-validate (PGV) rules that the
 * descriptors of Envoy's API carry ({@code (validate.rules)} on fields, {@code (validate.required)}
 * on oneofs, {@code (validate.disabled)} and {@code (validate.ignored)} on messages), which Envoy
 * checks before it accepts a resource. One line per violation: the field's path and the rule, such
 * as {@code virtual_hosts[0].domains: min_items 1, has 0}.
 *
 * <p>Generic: it walks descriptors, not a list of messages, into every set sub-message, repeated
 * item and map entry, and into the payload of every {@code google.protobuf.Any}, whose type URL
 * must be {@code type.googleapis.com/<full name>} of a message of Envoy's API jar: Envoy cannot
 * load a typed extension it does not know (PGV itself stops at an Any).
 *
 * <p>Where PGV's generators disagree, this follows the C++ one, because that is the code Envoy
 * runs: a pattern must match the whole value ({@code RE2::FullMatch}; Go's searches), {@code in}
 * and {@code not_in} compare with {@code ==}, and an empty string is a hostname. Rules the C++
 * generator leaves out (email, uri, uri_ref, bytes addresses, timestamp comparisons) follow the Go
 * one. {@code no_sparse} never fails: a Java map entry, like a C++ one, always holds its value.
 * Patterns run on {@code java.util.regex} in {@code UNIX_LINES} mode, so that {@code .} and {@code
 * $} treat only {@code \n} as a line end, as RE2 does; RE2-only syntax ({@code (?P<name>)}, {@code
 * \C}) would not compile, and Java's extensions (backreferences, lookaround) would be accepted.
 * None of Envoy's patterns uses either. The email check takes the common address forms ({@code
 * local@host}, {@code Name <local@host>}), not RFC 5322's quoted local parts and comments.
 *
 * <p>Thread-safe: no mutable state but a cache of compiled patterns.
 */
final class EnvoyConstraints {

  private static final String TYPE_URL_PREFIX = "type.googleapis.com/";
  private static final String ANY = "google.protobuf.Any";
  private static final String DURATION = "google.protobuf.Duration";
  private static final String TIMESTAMP = "google.protobuf.Timestamp";

  /** The wrappers of scalars, to which PGV applies the scalar's rules when they are set. */
  private static final Set<String> WRAPPERS =
      Set.of(
          "google.protobuf.DoubleValue",
          "google.protobuf.FloatValue",
          "google.protobuf.Int64Value",
          "google.protobuf.UInt64Value",
          "google.protobuf.Int32Value",
          "google.protobuf.UInt32Value",
          "google.protobuf.BoolValue",
          "google.protobuf.StringValue",
          "google.protobuf.BytesValue");

  /** PGV's well-known regular expressions (its {@code module/checker.go}). */
  private static final Pattern HTTP_HEADER_NAME =
      Pattern.compile("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$");

  private static final Pattern HTTP_HEADER_VALUE =
      Pattern.compile("^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$");

  /** What both header rules become with {@code strict: false}: no NUL, CR or LF. */
  private static final Pattern HEADER_STRING = Pattern.compile("^[^\\x00\\n\\r]*$");

  private static final Pattern UUID_FORMAT =
      Pattern.compile(
          "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");

  /** RFC 5322's dot-atom, the usual form of an address's local part. */
  private static final Pattern DOT_ATOM =
      Pattern.compile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$");

  /** The range of google.protobuf.Duration (about 10,000 years), as C++'s TimeUtil checks it. */
  private static final long MAX_DURATION_SECONDS = 315_576_000_000L;

  private static final long MAX_NANOS = 999_999_999L;

  private static final Map<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

  private EnvoyConstraints() {}

  /** The violations of Envoy's constraints in {@code message}; empty when Envoy accepts it. */
  static List<String> violations(Message message) {
    return violations(message, Clock.systemUTC());
  }

  /**
   * As {@link #violations(Message)}, with the time the timestamp rules {@code lt_now}, {@code
   * gt_now} and {@code within} compare with read from {@code clock}.
   */
  static List<String> violations(Message message, Clock clock) {
    Walk walk = new Walk(clock.instant());
    walk.message("", message);
    return List.copyOf(walk.found);
  }

  /** Fails, listing every violation, unless Envoy accepts {@code message}. */
  static void assertValid(Message message) {
    List<String> found = violations(message);
    if (!found.isEmpty()) {
      throw new AssertionError(
          message.getDescriptorForType().getFullName()
              + " breaks Envoy's constraints:\n  "
              + String.join("\n  ", found));
    }
  }

  /** The message of Envoy's API that {@code typeUrl} names, if it names one. */
  static Optional<Descriptor> messageType(String typeUrl) {
    if (!typeUrl.startsWith(TYPE_URL_PREFIX)) {
      return Optional.empty();
    }
    return Optional.ofNullable(EnvoyApi.TYPES.find(typeUrl.substring(TYPE_URL_PREFIX.length())));
  }

  /** The names of the .proto files whose descriptors {@link #messageType} knows. */
  static Set<String> knownFiles() {
    return EnvoyApi.FILES;
  }

  /** One walk over a message tree, collecting violations. Not thread-safe: one per call. */
  private static final class Walk {

    private final Instant now;
    private final List<String> found = new ArrayList<>();

    Walk(Instant now) {
      this.now = now;
    }

    private void report(String path, String rule) {
      found.add(path.isEmpty() ? rule : path + ": " + rule);
    }

    void message(String path, Message message) {
      Descriptor type = message.getDescriptorForType();
      if (type.getFullName().equals(ANY)) {
        payload(path, message);
        return;
      }
      if (type.getOptions().getExtension(Validate.disabled)
          || type.getOptions().getExtension(Validate.ignored)) {
        return;
      }
      for (FieldDescriptor field : type.getFields()) {
        // A member of a oneof is checked only when it is the one set (PGV switches on the case);
        // so is a scalar with presence (proto3 optional), the rest always: their default counts.
        boolean checkedOnlyWhenSet =
            field.getRealContainingOneof() != null
                || (field.hasPresence()
                    && !field.isRepeated()
                    && field.getJavaType() != FieldDescriptor.JavaType.MESSAGE);
        if (!checkedOnlyWhenSet || message.hasField(field)) {
          field(join(path, field.getName()), message, field);
        }
      }
      for (OneofDescriptor oneof : type.getRealOneofs()) {
        if (oneof.getOptions().getExtension(Validate.required) && !message.hasOneof(oneof)) {
          report(join(path, oneof.getName()), "required oneof, none set");
        }
      }
    }

    /** An Any's payload: its type must be known to Envoy, and its content valid in turn. */
    private void payload(String path, Message any) {
      Descriptor anyType = any.getDescriptorForType();
      String typeUrl = (String) any.getField(anyType.findFieldByName("type_url"));
      ByteString value = (ByteString) any.getField(anyType.findFieldByName("value"));
      Optional<Descriptor> type = messageType(typeUrl);
      if (type.isEmpty()) {
        report(path, "type_url " + quote(typeUrl) + " names no message of Envoy's API");
        return;
      }
      try {
        message(path, DynamicMessage.parseFrom(type.get(), value));
      } catch (InvalidProtocolBufferException e) {
        report(path, "value is no " + type.get().getFullName() + ": " + e.getMessage());
      }
    }

    private void field(String path, Message message, FieldDescriptor field) {
      FieldRules rules = field.getOptions().getExtension(Validate.rules);
      Object value = message.getField(field);
      if (field.isMapField()) {
        map(path, field, (List<?>) value, rules.getMap());
      } else if (field.isRepeated()) {
        repeated(path, (List<?>) value, rules);
      } else if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE
          || message.hasField(field)) {
        value(path, value, rules);
      } else if (rules.getMessage().getRequired()
          || rules.getAny().getRequired()
          || rules.getDuration().getRequired()
          || rules.getTimestamp().getRequired()) {
        report(path, "required, not set");
      }
    }

    /** One value (a field's, a list item or a map key or value) against {@code rules}. */
    private void value(String path, Object value, FieldRules rules) {
      if (!(value instanceof Message nested)) {
        scalar(path, value, rules);
        return;
      }
      switch (rules.getTypeCase()) {
        case DURATION -> duration(path, nested, rules.getDuration());
        case TIMESTAMP -> timestamp(path, nested, rules.getTimestamp());
        case ANY -> anyRules(path, nested, rules.getAny());
        default -> {
          if (WRAPPERS.contains(nested.getDescriptorForType().getFullName())) {
            FieldDescriptor wrapped = nested.getDescriptorForType().findFieldByName("value");
            scalar(path, nested.getField(wrapped), rules);
          }
        }
      }
      if (!rules.getMessage().getSkip()) {
        message(path, nested);
      }
    }

    private void scalar(String path, Object value, FieldRules rules) {
      switch (rules.getTypeCase()) {
        case FLOAT,
            DOUBLE,
            INT32,
            INT64,
            UINT32,
            UINT64,
            SINT32,
            SINT64,
            FIXED32,
            FIXED64,
            SFIXED32,
            SFIXED64 ->
            number(path, value, numberRules(rules));
        case BOOL -> {
          if (rules.getBool().hasConst() && rules.getBool().getConst() != (Boolean) value) {
            report(path, "const " + rules.getBool().getConst() + ", is " + value);
          }
        }
        case STRING -> string(path, (String) value, rules.getString());
        case BYTES -> bytes(path, (ByteString) value, rules.getBytes());
        case ENUM -> enumValue(path, (EnumValueDescriptor) value, rules.getEnum());
        default -> {
          // No rules, or rules of messages, lists or maps, which apply elsewhere.
        }
      }
    }

    /** The rules of one numeric kind, read through their descriptor: all twelve look alike. */
    private static Message numberRules(FieldRules rules) {
      FieldDescriptor kind =
          FieldRules.getDescriptor().findFieldByNumber(rules.getTypeCase().getNumber());
      return (Message) rules.getField(kind);
    }

    private void number(String path, Object value, Message rules) {
      Descriptor type = rules.getDescriptorForType();
      Numbers order = Numbers.of(type.findFieldByName("const").getType());
      if (Boolean.TRUE.equals(rules.getField(type.findFieldByName("ignore_empty")))
          && order.isZero(value)) {
        return;
      }
      Object constant = optional(rules, "const");
      if (constant != null && !order.same(value, constant)) {
        report(path, "const " + order.text(constant) + ", is " + order.text(value));
      }
      range(
          path,
          value,
          new Bounds<>(
              optional(rules, "lt"),
              optional(rules, "lte"),
              optional(rules, "gt"),
              optional(rules, "gte")),
          order);
      membership(
          path,
          value,
          (List<?>) rules.getField(type.findFieldByName("in")),
          (List<?>) rules.getField(type.findFieldByName("not_in")),
          order);
    }

    private static Object optional(Message rules, String name) {
      FieldDescriptor field = rules.getDescriptorForType().findFieldByName(name);
      return rules.hasField(field) ? rules.getField(field) : null;
    }

    /**
     * PGV's lt/lte/gt/gte: with a lower and an upper bound, the value must lie between them when
     * the upper is above the lower, and outside them otherwise (an exclusive range). Written, as
     * PGV writes it, as the comparisons that fail, so that NaN breaks no bound.
     */
    private <T> void range(String path, T value, Bounds<T> bounds, Order<T> order) {
      T upper = bounds.lt() != null ? bounds.lt() : bounds.lte();
      T lower = bounds.gt() != null ? bounds.gt() : bounds.gte();
      boolean aboveUpper =
          bounds.lt() != null
              ? order.less(bounds.lt(), value) || order.same(value, bounds.lt())
              : bounds.lte() != null && order.less(bounds.lte(), value);
      boolean belowLower =
          bounds.gt() != null
              ? order.less(value, bounds.gt()) || order.same(value, bounds.gt())
              : bounds.gte() != null && order.less(value, bounds.gte());
      String upperRule =
          upper == null ? null : (bounds.lt() != null ? "lt " : "lte ") + order.text(upper);
      String lowerRule =
          lower == null ? null : (bounds.gt() != null ? "gt " : "gte ") + order.text(lower);
      String broken;
      if (upper != null && lower != null) {
        boolean inside = order.less(lower, upper);
        boolean fails = inside ? aboveUpper || belowLower : aboveUpper && belowLower;
        broken =
            !fails
                ? null
                : inside ? lowerRule + " and " + upperRule : upperRule + " or " + lowerRule;
      } else {
        broken = aboveUpper ? upperRule : belowLower ? lowerRule : null;
      }
      if (broken != null) {
        report(path, broken + ", is " + order.text(value));
      }
    }

    private <T> void membership(
        String path,
        T value,
        List<? extends T> allowed,
        List<? extends T> refused,
        Order<? super T> order) {
      if (!allowed.isEmpty() && allowed.stream().noneMatch(each -> order.same(value, each))) {
        report(path, "in " + texts(allowed, order) + ", is " + order.text(value));
      }
      if (refused.stream().anyMatch(each -> order.same(value, each))) {
        report(path, "not_in " + texts(refused, order) + ", is " + order.text(value));
      }
    }

    private static <T> String texts(List<? extends T> values, Order<? super T> order) {
      return values.stream().map(order::text).collect(Collectors.joining(", ", "[", "]"));
    }

    private void enumValue(String path, EnumValueDescriptor value, EnumRules rules) {
      int number = value.getNumber();
      if (rules.hasConst() && number != rules.getConst()) {
        report(path, "const " + rules.getConst() + ", is " + number);
      }
      membership(path, number, rules.getInList(), rules.getNotInList(), Numbers.SIGNED);
      if (rules.getDefinedOnly() && value.getType().findValueByNumber(number) == null) {
        report(path, "defined_only, is " + number);
      }
    }

    private void string(String path, String value, StringRules rules) {
      if (rules.getIgnoreEmpty() && value.isEmpty()) {
        return;
      }
      if (rules.hasConst() && !value.equals(rules.getConst())) {
        report(path, "const " + quote(rules.getConst()) + ", is " + quote(value));
      }
      membership(path, value, rules.getInList(), rules.getNotInList(), Order.STRINGS);
      long characters = value.codePointCount(0, value.length());
      exactly(path, characters, rules.hasLen(), rules.getLen(), "len");
      atLeast(path, characters, rules.hasMinLen(), rules.getMinLen(), "min_len");
      atMost(path, characters, rules.hasMaxLen(), rules.getMaxLen(), "max_len");
      long bytes = value.getBytes(StandardCharsets.UTF_8).length;
      exactly(path, bytes, rules.hasLenBytes(), rules.getLenBytes(), "len_bytes");
      atLeast(path, bytes, rules.hasMinBytes(), rules.getMinBytes(), "min_bytes");
      atMost(path, bytes, rules.hasMaxBytes(), rules.getMaxBytes(), "max_bytes");
      if (rules.hasPrefix() && !value.startsWith(rules.getPrefix())) {
        report(path, "prefix " + quote(rules.getPrefix()) + ", is " + quote(value));
      }
      if (rules.hasSuffix() && !value.endsWith(rules.getSuffix())) {
        report(path, "suffix " + quote(rules.getSuffix()) + ", is " + quote(value));
      }
      if (rules.hasContains() && !value.contains(rules.getContains())) {
        report(path, "contains " + quote(rules.getContains()) + ", is " + quote(value));
      }
      if (rules.hasNotContains() && value.contains(rules.getNotContains())) {
        report(path, "not_contains " + quote(rules.getNotContains()) + ", is " + quote(value));
      }
      if (rules.hasPattern() && !pattern(rules.getPattern()).matcher(value).matches()) {
        report(path, "pattern " + quote(rules.getPattern()) + ", is " + quote(value));
      }
      String wellKnown = wellKnown(value, rules);
      if (wellKnown != null) {
        report(path, wellKnown + ", is " + quote(value));
      }
    }

    /** The well-known format {@code value} fails, or null. */
    private static String wellKnown(String value, StringRules rules) {
      return switch (rules.getWellKnownCase()) {
        case EMAIL -> rules.getEmail() && !WellKnown.isEmail(value) ? "email" : null;
        case HOSTNAME -> rules.getHostname() && !WellKnown.isHostname(value) ? "hostname" : null;
        case IP -> rules.getIp() && !WellKnown.isIp(value) ? "ip" : null;
        case IPV4 -> rules.getIpv4() && !WellKnown.isIpv4(value) ? "ipv4" : null;
        case IPV6 -> rules.getIpv6() && !WellKnown.isIpv6(value) ? "ipv6" : null;
        case URI -> rules.getUri() && !WellKnown.isUri(value) ? "uri" : null;
        case URI_REF -> rules.getUriRef() && !WellKnown.isUriRef(value) ? "uri_ref" : null;
        case ADDRESS ->
            rules.getAddress() && !WellKnown.isHostname(value) && !WellKnown.isIp(value)
                ? "address"
                : null;
        case UUID -> rules.getUuid() && !UUID_FORMAT.matcher(value).matches() ? "uuid" : null;
        case WELL_KNOWN_REGEX -> knownRegex(value, rules);
        case WELLKNOWN_NOT_SET -> null;
      };
    }

    private static String knownRegex(String value, StringRules rules) {
      KnownRegex known = rules.getWellKnownRegex();
      if (known != KnownRegex.HTTP_HEADER_NAME && known != KnownRegex.HTTP_HEADER_VALUE) {
        return null;
      }
      // strict is a proto2 field defaulting to true: unset means strict.
      Pattern pattern =
          !rules.getStrict()
              ? HEADER_STRING
              : known == KnownRegex.HTTP_HEADER_NAME ? HTTP_HEADER_NAME : HTTP_HEADER_VALUE;
      if (pattern.matcher(value).matches()) {
        return null;
      }
      return "well_known_regex " + known + (rules.getStrict() ? "" : " (strict: false)");
    }

    private void bytes(String path, ByteString value, BytesRules rules) {
      if (rules.getIgnoreEmpty() && value.isEmpty()) {
        return;
      }
      if (rules.hasConst() && !value.equals(rules.getConst())) {
        report(path, "const " + hex(rules.getConst()) + ", is " + hex(value));
      }
      membership(path, value, rules.getInList(), rules.getNotInList(), Order.BYTES);
      exactly(path, value.size(), rules.hasLen(), rules.getLen(), "len");
      atLeast(path, value.size(), rules.hasMinLen(), rules.getMinLen(), "min_len");
      atMost(path, value.size(), rules.hasMaxLen(), rules.getMaxLen(), "max_len");
      if (rules.hasPrefix() && !value.startsWith(rules.getPrefix())) {
        report(path, "prefix " + hex(rules.getPrefix()) + ", is " + hex(value));
      }
      if (rules.hasSuffix() && !value.endsWith(rules.getSuffix())) {
        report(path, "suffix " + hex(rules.getSuffix()) + ", is " + hex(value));
      }
      if (rules.hasContains()
          && Bytes.indexOf(value.toByteArray(), rules.getContains().toByteArray()) < 0) {
        report(path, "contains " + hex(rules.getContains()) + ", is " + hex(value));
      }
      // RE2 reads bytes as UTF-8 unless told otherwise.
      if (rules.hasPattern()
          && !pattern(rules.getPattern()).matcher(value.toStringUtf8()).matches()) {
        report(path, "pattern " + quote(rules.getPattern()) + ", is " + hex(value));
      }
      // As Go's net.IP: 4 or 16 bytes; IPv4 also as 16 bytes mapped into IPv6.
      boolean v4 = value.size() == 4 || (value.size() == 16 && isV4Mapped(value));
      boolean v6 = value.size() == 16 && !v4;
      String address =
          rules.getIp() && !v4 && !v6
              ? "ip"
              : rules.getIpv4() && !v4 ? "ipv4" : rules.getIpv6() && !v6 ? "ipv6" : null;
      if (address != null) {
        report(path, address + ", is " + hex(value));
      }
    }

    private static boolean isV4Mapped(ByteString sixteen) {
      for (int i = 0; i < 10; i++) {
        if (sixteen.byteAt(i) != 0) {
          return false;
        }
      }
      return sixteen.byteAt(10) == (byte) 0xff && sixteen.byteAt(11) == (byte) 0xff;
    }

    private void exactly(String path, long actual, boolean has, long expected, String rule) {
      if (has && actual != expected) {
        report(path, rule + " " + Long.toUnsignedString(expected) + ", has " + actual);
      }
    }

    private void atLeast(String path, long actual, boolean has, long minimum, String rule) {
      if (has && Long.compareUnsigned(actual, minimum) < 0) {
        report(path, rule + " " + Long.toUnsignedString(minimum) + ", has " + actual);
      }
    }

    private void atMost(String path, long actual, boolean has, long maximum, String rule) {
      if (has && Long.compareUnsigned(actual, maximum) > 0) {
        report(path, rule + " " + Long.toUnsignedString(maximum) + ", has " + actual);
      }
    }

    private void repeated(String path, List<?> items, FieldRules rules) {
      RepeatedRules repeated = rules.getRepeated();
      if (!(repeated.getIgnoreEmpty() && items.isEmpty())) {
        atLeast(path, items.size(), repeated.hasMinItems(), repeated.getMinItems(), "min_items");
        atMost(path, items.size(), repeated.hasMaxItems(), repeated.getMaxItems(), "max_items");
      }
      if (repeated.getUnique()) {
        Map<Object, Integer> first = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
          Integer earlier = first.putIfAbsent(uniqueKey(items.get(i)), i);
          if (earlier != null) {
            report(path + "[" + i + "]", "unique, repeats [" + earlier + "]");
          }
        }
      }
      for (int i = 0; i < items.size(); i++) {
        value(path + "[" + i + "]", items.get(i), repeated.getItems());
      }
    }

    /** What {@code unique} compares, with C++'s {@code ==}: NaN repeats nothing, -0 is 0. */
    private static Object uniqueKey(Object item) {
      if (item instanceof EnumValueDescriptor value) {
        return value.getNumber();
      }
      if (item instanceof Float || item instanceof Double) {
        double number = ((Number) item).doubleValue();
        return Double.isNaN(number) ? new Object() : number == 0 ? 0.0 : number;
      }
      return item;
    }

    private void map(String path, FieldDescriptor field, List<?> entries, MapRules rules) {
      if (!(rules.getIgnoreEmpty() && entries.isEmpty())) {
        atLeast(path, entries.size(), rules.hasMinPairs(), rules.getMinPairs(), "min_pairs");
        atMost(path, entries.size(), rules.hasMaxPairs(), rules.getMaxPairs(), "max_pairs");
      }
      // no_sparse cannot fail here: a Java map entry (generated or dynamic), like a C++ one, always
      // holds its value, the default when the wire had none; PGV's C++ and Java generators leave
      // it out for that reason.
      FieldDescriptor keyField = field.getMessageType().findFieldByName("key");
      FieldDescriptor valueField = field.getMessageType().findFieldByName("value");
      for (Object each : entries) {
        Message entry = (Message) each;
        Object key = entry.getField(keyField);
        String at = path + "[" + (key instanceof String text ? quote(text) : key) + "]";
        value(at + ".key", key, rules.getKeys());
        value(at, entry.getField(valueField), rules.getValues());
      }
    }

    private void anyRules(String path, Message any, AnyRules rules) {
      String typeUrl =
          (String) any.getField(any.getDescriptorForType().findFieldByName("type_url"));
      if (rules.getInCount() > 0 && !rules.getInList().contains(typeUrl)) {
        report(path, "in " + rules.getInList() + ", is " + typeUrl);
      }
      if (rules.getNotInList().contains(typeUrl)) {
        report(path, "not_in " + rules.getNotInList() + ", is " + typeUrl);
      }
    }

    private void duration(String path, Message message, DurationRules rules) {
      if (!rules.hasConst()
          && !rules.hasLt()
          && !rules.hasLte()
          && !rules.hasGt()
          && !rules.hasGte()
          && rules.getInCount() == 0
          && rules.getNotInCount() == 0) {
        return;
      }
      long[] secondsAndNanos = secondsAndNanos(message);
      if (Math.abs(secondsAndNanos[0]) > MAX_DURATION_SECONDS
          || Math.abs(secondsAndNanos[1]) > MAX_NANOS) {
        report(path, "not a valid duration");
        return;
      }
      Instant value = instant(message);
      Order<Instant> order = Order.DURATIONS;
      if (rules.hasConst() && !order.same(value, instant(rules.getConst()))) {
        report(
            path, "const " + order.text(instant(rules.getConst())) + ", is " + order.text(value));
      }
      range(
          path,
          value,
          new Bounds<>(
              rules.hasLt() ? instant(rules.getLt()) : null,
              rules.hasLte() ? instant(rules.getLte()) : null,
              rules.hasGt() ? instant(rules.getGt()) : null,
              rules.hasGte() ? instant(rules.getGte()) : null),
          order);
      membership(
          path,
          value,
          rules.getInList().stream().map(EnvoyConstraints::instant).toList(),
          rules.getNotInList().stream().map(EnvoyConstraints::instant).toList(),
          order);
    }

    /**
     * Timestamps as PGV's Go generator checks them (the C++ one has no timestamp rules): absolute
     * bounds first; only without them {@code lt_now}, {@code gt_now}, then {@code within}.
     */
    private void timestamp(String path, Message message, TimestampRules rules) {
      boolean bounded = rules.hasLt() || rules.hasLte() || rules.hasGt() || rules.hasGte();
      if (!rules.hasConst()
          && !bounded
          && !rules.getLtNow()
          && !rules.getGtNow()
          && !rules.hasWithin()) {
        return;
      }
      long[] secondsAndNanos = secondsAndNanos(message);
      // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, the range of Timestamp.
      if (secondsAndNanos[0] < -62_135_596_800L
          || secondsAndNanos[0] > 253_402_300_799L
          || secondsAndNanos[1] < 0
          || secondsAndNanos[1] > MAX_NANOS) {
        report(path, "not a valid timestamp");
        return;
      }
      Instant value = instant(message);
      Order<Instant> order = Order.TIMESTAMPS;
      if (rules.hasConst() && !order.same(value, instant(rules.getConst()))) {
        report(
            path, "const " + order.text(instant(rules.getConst())) + ", is " + order.text(value));
      }
      Duration within =
          rules.hasWithin() ? Duration.between(Instant.EPOCH, instant(rules.getWithin())) : null;
      if (bounded) {
        range(
            path,
            value,
            new Bounds<>(
                rules.hasLt() ? instant(rules.getLt()) : null,
                rules.hasLte() ? instant(rules.getLte()) : null,
                rules.hasGt() ? instant(rules.getGt()) : null,
                rules.hasGte() ? instant(rules.getGte()) : null),
            order);
      } else if (rules.getLtNow()) {
        boolean fails =
            !value.isBefore(now) || (within != null && value.isBefore(now.minus(within)));
        if (fails) {
          report(path, "lt_now" + withinText(within) + ", is " + order.text(value));
        }
      } else if (rules.getGtNow()) {
        boolean fails = !value.isAfter(now) || (within != null && value.isAfter(now.plus(within)));
        if (fails) {
          report(path, "gt_now" + withinText(within) + ", is " + order.text(value));
        }
      } else if (within != null
          && (!value.isBefore(now.plus(within)) || !value.isAfter(now.minus(within)))) {
        report(path, "within " + durationText(within) + " of now, is " + order.text(value));
      }
    }

    private static String withinText(Duration within) {
      return within == null ? "" : " within " + durationText(within);
    }

    private static Pattern pattern(String regex) {
      return PATTERNS.computeIfAbsent(regex, r -> Pattern.compile(r, Pattern.UNIX_LINES));
    }
  }

  /** The bounds of a range rule, each null when unset. */
  private record Bounds<T>(T lt, T lte, T gt, T gte) {}

  /** How a kind of value compares, is equal and reads in a violation. */
  private interface Order<T> {

    boolean less(T a, T b);

    boolean same(T a, T b);

    String text(T value);

    Order<String> STRINGS = of((a, b) -> a.compareTo(b) < 0, EnvoyConstraints::quote);
    Order<ByteString> BYTES =
        of(
            (a, b) -> ByteString.unsignedLexicographicalComparator().compare(a, b) < 0,
            EnvoyConstraints::hex);

    /** Durations, held as an Instant after the epoch so that both share one comparison. */
    Order<Instant> DURATIONS =
        of(Instant::isBefore, d -> durationText(Duration.between(Instant.EPOCH, d)));

    Order<Instant> TIMESTAMPS = of(Instant::isBefore, DateTimeFormatter.ISO_INSTANT::format);

    private static <T> Order<T> of(BiPredicate<T, T> less, Function<T, String> text) {
      return new Order<>() {
        @Override
        public boolean less(T a, T b) {
          return less.test(a, b);
        }

        @Override
        public boolean same(T a, T b) {
          return a.equals(b);
        }

        @Override
        public String text(T value) {
          return text.apply(value);
        }
      };
    }
  }

  /** The twelve numeric kinds of PGV, by how they compare: as C++ compares them. */
  private enum Numbers implements Order<Object> {
    SIGNED {
      @Override
      public boolean less(Object a, Object b) {
        return ((Number) a).longValue() < ((Number) b).longValue();
      }

      @Override
      public boolean same(Object a, Object b) {
        return ((Number) a).longValue() == ((Number) b).longValue();
      }

      @Override
      public String text(Object value) {
        return value.toString();
      }
    },
    /** uint32, fixed32, uint64, fixed64: Java holds them in int and long. */
    UNSIGNED {
      @Override
      public boolean less(Object a, Object b) {
        return Long.compareUnsigned(bits(a), bits(b)) < 0;
      }

      @Override
      public boolean same(Object a, Object b) {
        return bits(a) == bits(b);
      }

      @Override
      public String text(Object value) {
        return Long.toUnsignedString(bits(value));
      }

      private long bits(Object value) {
        return value instanceof Integer small ? Integer.toUnsignedLong(small) : (Long) value;
      }
    },
    FLOATING {
      @Override
      public boolean less(Object a, Object b) {
        return ((Number) a).doubleValue() < ((Number) b).doubleValue();
      }

      @Override
      public boolean same(Object a, Object b) {
        return ((Number) a).doubleValue() == ((Number) b).doubleValue();
      }

      @Override
      public String text(Object value) {
        return value.toString();
      }
    };

    static Numbers of(FieldDescriptor.Type type) {
      return switch (type) {
        case FLOAT, DOUBLE -> FLOATING;
        case UINT32, FIXED32, UINT64, FIXED64 -> UNSIGNED;
        default -> SIGNED;
      };
    }

    boolean isZero(Object value) {
      return same(value, 0);
    }
  }

  /** PGV's well-known string formats. */
  private static final class WellKnown {

    private WellKnown() {}

    /**
     * RFC 1034, as PGV's C++ code checks it: labels of letters, digits and inner hyphens, one final
     * dot allowed; an empty string has no label to refuse.
     */
    static boolean isHostname(String value) {
      if (value.isEmpty()) {
        return true;
      }
      if (value.length() > 253) {
        return false;
      }
      String host = value.endsWith(".") ? value.substring(0, value.length() - 1) : value;
      for (String label : host.split("\\.", -1)) {
        if (label.isEmpty()
            || label.length() > 63
            || label.startsWith("-")
            || label.endsWith("-")) {
          return false;
        }
        for (int i = 0; i < label.length(); i++) {
          char c = label.charAt(i);
          boolean allowed =
              (c >= 'a' && c <= 'z')
                  || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9')
                  || c == '-';
          if (!allowed) {
            return false;
          }
        }
      }
      return true;
    }

    /** As {@code inet_pton(AF_INET)}: four decimal octets, no leading zeros. */
    static boolean isIpv4(String value) {
      return value.indexOf(':') < 0 && InetAddresses.isInetAddress(value);
    }

    /** As {@code inet_pton(AF_INET6)}: no brackets, no zone. */
    static boolean isIpv6(String value) {
      return value.indexOf(':') >= 0
          && value.indexOf('%') < 0
          && InetAddresses.isInetAddress(value);
    }

    static boolean isIp(String value) {
      return isIpv4(value) || isIpv6(value);
    }

    static boolean isEmail(String value) {
      if (value.length() > 254) {
        return false;
      }
      String address = value;
      if (address.endsWith(">")) {
        int open = address.lastIndexOf('<');
        if (open < 0) {
          return false;
        }
        address = address.substring(open + 1, address.length() - 1);
      }
      int at = address.lastIndexOf('@');
      if (at <= 0) {
        return false;
      }
      String local = address.substring(0, at);
      String domain = address.substring(at + 1);
      return local.length() <= 64
          && DOT_ATOM.matcher(local).matches()
          && !domain.isEmpty()
          && isHostname(domain);
    }

    static boolean isUri(String value) {
      try {
        return new URI(value).isAbsolute();
      } catch (URISyntaxException e) {
        return false;
      }
    }

    static boolean isUriRef(String value) {
      try {
        new URI(value);
        return true;
      } catch (URISyntaxException e) {
        return false;
      }
    }
  }

  /**
   * Every message type generated into Envoy's API jar, with the files they import, by full name.
   * Found by scanning the jar: the outer class of each .proto file has a static {@code
   * getDescriptor()} that returns its FileDescriptor (message classes have one too, returning a
   * Descriptor). Built on first use, once per JVM: it loads about 3,400 classes.
   */
  private static final class EnvoyApi {

    static final Set<String> FILES;
    static final TypeRegistry TYPES;

    static {
      List<FileDescriptor> files = generatedFiles();
      Set<String> names = new TreeSet<>();
      TypeRegistry.Builder types = TypeRegistry.newBuilder();
      for (FileDescriptor file : files) {
        addWithImports(file, names);
        types.add(file.getMessageTypes());
      }
      FILES = Collections.unmodifiableSet(names);
      TYPES = types.build();
    }

    private EnvoyApi() {}

    private static void addWithImports(FileDescriptor file, Set<String> names) {
      if (names.add(file.getName())) {
        for (FileDescriptor imported : file.getDependencies()) {
          addWithImports(imported, names);
        }
      }
    }

    private static List<FileDescriptor> generatedFiles() {
      // The PGV options are generated into the same jar as Envoy's API.
      Class<?> anchor = Validate.class;
      List<FileDescriptor> files = new ArrayList<>();
      try (JarFile jar = new JarFile(jarOf(anchor).toFile())) {
        for (Enumeration<JarEntry> entries = jar.entries(); entries.hasMoreElements(); ) {
          String name = entries.nextElement().getName();
          // Outer classes are top-level: nested classes have a '$' in their names.
          if (name.endsWith(".class") && name.indexOf('$') < 0 && !name.endsWith("-info.class")) {
            String className =
                name.substring(0, name.length() - ".class".length()).replace('/', '.');
            fileDescriptorOf(className, anchor.getClassLoader()).ifPresent(files::add);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return files;
    }

    private static Path jarOf(Class<?> type) {
      try {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
      } catch (URISyntaxException e) {
        throw new IllegalStateException("cannot locate the jar of " + type, e);
      }
    }

    private static Optional<FileDescriptor> fileDescriptorOf(String className, ClassLoader loader) {
      try {
        // Loaded without initializing: only outer classes are initialized, by getDescriptor().
        Class<?> type = Class.forName(className, false, loader);
        Method getter = type.getMethod("getDescriptor");
        if (Modifier.isStatic(getter.getModifiers())
            && getter.getReturnType() == FileDescriptor.class) {
          return Optional.of((FileDescriptor) getter.invoke(null));
        }
      } catch (NoSuchMethodException | ClassNotFoundException | LinkageError notGenerated) {
        // Not an outer class of a .proto file (the coverage test shows none is missed).
      } catch (IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException("cannot read the descriptor of " + className, e);
      }
      return Optional.empty();
    }
  }

  private static Instant instant(Message secondsAndNanos) {
    long[] parts = secondsAndNanos(secondsAndNanos);
    return Instant.ofEpochSecond(parts[0], parts[1]);
  }

  /** The seconds and nanos of a Duration or Timestamp, generated or dynamic. */
  private static long[] secondsAndNanos(Message message) {
    Descriptor type = message.getDescriptorForType();
    if (!type.getFullName().equals(DURATION) && !type.getFullName().equals(TIMESTAMP)) {
      throw new IllegalArgumentException(type.getFullName() + " is no Duration or Timestamp");
    }
    return new long[] {
      (Long) message.getField(type.findFieldByName("seconds")),
      (Integer) message.getField(type.findFieldByName("nanos"))
    };
  }

  /** A duration as protobuf's JSON writes it: seconds, with a fraction when there is one. */
  private static String durationText(Duration duration) {
    BigDecimal seconds =
        BigDecimal.valueOf(duration.getSeconds()).add(BigDecimal.valueOf(duration.getNano(), 9));
    return seconds.stripTrailingZeros().toPlainString() + "s";
  }

  /** A string as a Java literal, so that control characters show. */
  private static String quote(String value) {
    StringBuilder quoted = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"', '\\' -> quoted.append('\\').append(c);
        case '\n' -> quoted.append("\\n");
        case '\r' -> quoted.append("\\r");
        case '\t' -> quoted.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            quoted.append(String.format("\\u%04x", (int) c));
          } else {
            quoted.append(c);
          }
        }
      }
    }
    return quoted.append('"').toString();
  }

  private static String hex(ByteString bytes) {
    return "0x" + BaseEncoding.base16().lowerCase().encode(bytes.toByteArray());
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }
}
