package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.AnyProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.DurationProto;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import com.google.protobuf.StringValue;
import com.google.protobuf.Timestamp;
import com.google.protobuf.TimestampProto;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.WrappersProto;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.AnyRules;
import io.envoyproxy.pgv.validate.Validate.BoolRules;
import io.envoyproxy.pgv.validate.Validate.BytesRules;
import io.envoyproxy.pgv.validate.Validate.DoubleRules;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.EnumRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.Int32Rules;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.MessageRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import io.envoyproxy.pgv.validate.Validate.SInt64Rules;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import io.envoyproxy.pgv.validate.Validate.UInt32Rules;
import io.envoyproxy.pgv.validate.Validate.UInt64Rules;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The validator against Envoy's own messages and annotations first, then against messages built
 * here whose fields carry the PGV rules Envoy's API uses rarely or not at all, each case with the
 * exact violation lines expected.
 */
class EnvoyConstraintsTest {

  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  // Envoy's messages and annotations.

  @Test
  void aVirtualHostWithoutDomainsBreaksMinItems() {
    HttpConnectionManager manager =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("in")
            .setRouteConfig(
                RouteConfiguration.newBuilder()
                    .addVirtualHosts(
                        VirtualHost.newBuilder().setName("all").addRoutes(forward("backend"))))
            .build();

    assertThat(EnvoyConstraints.violations(manager))
        .containsExactly("route_config.virtual_hosts[0].domains: min_items 1, has 0");
    assertThat(EnvoyConstraints.violations(withDomain(manager))).isEmpty();
  }

  @Test
  void aHeaderMatcherWithoutANameBreaksMinLenButAnyNameWithoutCrLfOrNulPasses() {
    Route.Builder route = forward("backend");
    route.getMatchBuilder().addHeaders(HeaderMatcher.newBuilder().setPresentMatch(true));

    assertThat(EnvoyConstraints.violations(route.build()))
        .containsExactly("match.headers[0].name: min_len 1, has 0");
    // strict: false, so only NUL, CR and LF are refused, not a space.
    route.getMatchBuilder().getHeadersBuilder(0).setName("not a token");
    assertThat(EnvoyConstraints.violations(route.build())).isEmpty();
    route.getMatchBuilder().getHeadersBuilder(0).setName("x-split\r\nx-injected");
    assertThat(EnvoyConstraints.violations(route.build()))
        .containsExactly(
            "match.headers[0].name: well_known_regex HTTP_HEADER_NAME (strict: false),"
                + " is \"x-split\\r\\nx-injected\"");
  }

  @Test
  void aNegativeConnectTimeoutBreaksGtZero() {
    Cluster cluster =
        Cluster.newBuilder()
            .setName("backend")
            .setConnectTimeout(Durations.fromMillis(-1500))
            .build();

    assertThat(EnvoyConstraints.violations(cluster))
        .containsExactly("connect_timeout: gt 0s, is -1.5s");
    assertThat(EnvoyConstraints.violations(cluster.toBuilder().clearConnectTimeout().build()))
        .isEmpty();
  }

  @Test
  void anUndefinedEnumValueBreaksDefinedOnly() {
    Cluster cluster = Cluster.newBuilder().setName("backend").setLbPolicyValue(99).build();

    assertThat(EnvoyConstraints.violations(cluster))
        .containsExactly("lb_policy: defined_only, is 99");
  }

  @Test
  void anAnyOfAnUnknownTypeIsAViolationWhereverItIs() {
    Listener listener =
        Listener.newBuilder()
            .setName("in")
            .addFilterChains(
                FilterChain.newBuilder()
                    .addFilters(
                        Filter.newBuilder()
                            .setName("weft.unknown")
                            .setTypedConfig(
                                Any.newBuilder()
                                    .setTypeUrl("type.googleapis.com/weft.NoSuchFilter")
                                    .setValue(ByteString.copyFromUtf8("?")))))
            .build();

    assertThat(EnvoyConstraints.violations(listener))
        .containsExactly(
            "filter_chains[0].filters[0].typed_config: type_url"
                + " \"type.googleapis.com/weft.NoSuchFilter\" names no message of Envoy's API");
  }

  @Test
  void anAnyWithAnotherPrefixOrAPayloadThatDoesNotParseIsAViolation() {
    Any otherPrefix =
        Any.newBuilder()
            .setTypeUrl("example.com/" + Cluster.getDescriptor().getFullName())
            .setValue(Cluster.getDefaultInstance().toByteString())
            .build();
    Any garbage =
        Any.newBuilder()
            .setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster")
            .setValue(ByteString.copyFrom(new byte[] {(byte) 0xff}))
            .build();

    assertThat(EnvoyConstraints.violations(otherPrefix))
        .containsExactly(
            "type_url \"example.com/envoy.config.cluster.v3.Cluster\" names no message of"
                + " Envoy's API");
    assertThat(EnvoyConstraints.violations(garbage))
        .singleElement()
        .asString()
        .startsWith("value is no envoy.config.cluster.v3.Cluster: ");
  }

  @Test
  void anAnyPayloadIsValidatedInTurnThroughMapsAndNestedAnys() {
    Route.Builder route = forward("backend");
    route.putTypedPerFilterConfig(
        "envoy.filters.http.fault",
        Any.pack(
            HTTPFault.newBuilder().setAbort(FaultAbort.newBuilder().setHttpStatus(700)).build()));
    HttpConnectionManager manager =
        withDomain(
            HttpConnectionManager.newBuilder()
                .setStatPrefix("in")
                .setRouteConfig(
                    RouteConfiguration.newBuilder()
                        .addVirtualHosts(VirtualHost.newBuilder().setName("all").addRoutes(route)))
                .build());
    Listener listener =
        Listener.newBuilder()
            .setName("in")
            .setApiListener(
                io.envoyproxy.envoy.config.listener.v3.ApiListener.newBuilder()
                    .setApiListener(Any.pack(manager)))
            .build();

    assertThat(EnvoyConstraints.violations(listener))
        .containsExactly(
            "api_listener.api_listener.route_config.virtual_hosts[0].routes[0]"
                + ".typed_per_filter_config[\"envoy.filters.http.fault\"].abort.http_status:"
                + " gte 200 and lt 600, is 700");
  }

  @Test
  void routesNeedAMatchAndAnActionAndMatchesAPathSpecifier() {
    assertThat(EnvoyConstraints.violations(Route.getDefaultInstance()))
        .containsExactly("match: required, not set", "action: required oneof, none set");
    assertThat(
            EnvoyConstraints.violations(
                Route.newBuilder()
                    .setMatch(RouteMatch.getDefaultInstance())
                    .setRoute(RouteAction.newBuilder().setCluster("backend"))
                    .build()))
        .containsExactly("match.path_specifier: required oneof, none set");
  }

  @Test
  void aWeightedClusterNeedsClustersButAClusterWeightNeedsNoNameInThisApiVersion() {
    // ClusterWeight.name carries no rule in api 1.0.49 (Envoy removed it, to add it back in the
    // next major version), so an empty name passes; an empty list of clusters does not.
    Route.Builder emptyName =
        forward("unused")
            .setRoute(
                RouteAction.newBuilder()
                    .setWeightedClusters(
                        WeightedCluster.newBuilder()
                            .addClusters(
                                WeightedCluster.ClusterWeight.newBuilder()
                                    .setWeight(UInt32Value.of(1)))));
    Route.Builder noClusters =
        forward("unused")
            .setRoute(RouteAction.newBuilder().setWeightedClusters(WeightedCluster.newBuilder()));

    assertThat(EnvoyConstraints.violations(emptyName.build())).isEmpty();
    assertThat(EnvoyConstraints.violations(noClusters.build()))
        .containsExactly("route.weighted_clusters.clusters: min_items 1, has 0");
  }

  @Test
  void headerValuesRefuseCrAndLfAndStrictHeaderNamesRefuseNonTokens() {
    Route.Builder route = forward("backend");
    route.addRequestHeadersToAdd(
        HeaderValueOption.newBuilder()
            .setHeader(HeaderValue.newBuilder().setKey("x-a").setValue("one\ntwo")));
    route.addRequestHeadersToRemove("");

    assertThat(EnvoyConstraints.violations(route.build()))
        .containsExactly(
            "request_headers_to_add[0].header.value: well_known_regex HTTP_HEADER_VALUE"
                + " (strict: false), is \"one\\ntwo\"",
            "request_headers_to_remove[0]: min_len 1, has 0");

    UpstreamHttpProtocolOptions.Builder strict = UpstreamHttpProtocolOptions.newBuilder();
    assertThat(EnvoyConstraints.violations(strict.build())).as("ignore_empty").isEmpty();
    assertThat(EnvoyConstraints.violations(strict.setOverrideAutoSniHeader(":authority").build()))
        .isEmpty();
    assertThat(EnvoyConstraints.violations(strict.setOverrideAutoSniHeader("x sni").build()))
        .containsExactly(
            "override_auto_sni_header: well_known_regex HTTP_HEADER_NAME, is \"x sni\"");
  }

  @Test
  void aWrapperCarriesItsScalarsRulesOnlyWhenSet() {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();

    assertThat(EnvoyConstraints.violations(locality.build())).isEmpty();
    assertThat(
            EnvoyConstraints.violations(locality.setLoadBalancingWeight(UInt32Value.of(0)).build()))
        .containsExactly("load_balancing_weight: gte 1, is 0");
  }

  @Test
  void assertValidListsEveryViolation() {
    assertThatThrownBy(() -> EnvoyConstraints.assertValid(Route.getDefaultInstance()))
        .hasMessage(
            "envoy.config.route.v3.Route breaks Envoy's constraints:\n"
                + "  match: required, not set\n"
                + "  action: required oneof, none set");
  }

  @Test
  void typeUrlsResolveToTheMessagesOfTheEnvoyApiJarAndEveryProtoFileOfItIsKnown()
      throws IOException, URISyntaxException {
    for (Descriptor packed :
        List.of(
            HttpConnectionManager.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor(),
            HTTPFault.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor(),
            io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                .getDescriptor(),
            io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor())) {
      assertThat(EnvoyConstraints.messageType("type.googleapis.com/" + packed.getFullName()))
          .hasValueSatisfying(
              found -> assertThat(found.getFullName()).isEqualTo(packed.getFullName()));
    }
    assertThat(EnvoyConstraints.messageType("type.googleapis.com/weft.NoSuchFilter")).isEmpty();

    Path jar = Path.of(Validate.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Set<String> protoFiles = new TreeSet<>();
    try (JarFile file = new JarFile(jar.toFile())) {
      file.stream()
          .map(ZipEntry::getName)
          .filter(name -> name.endsWith(".proto"))
          .forEach(protoFiles::add);
    }
    assertThat(protoFiles).hasSizeGreaterThan(600);
    assertThat(EnvoyConstraints.knownFiles()).containsAll(protoFiles);
  }

  // PGV's rules on messages built here: numbers.

  @Test
  void everyNumericKindComparesWithItsOwnType() {
    for (String kind :
        List.of(
            "float",
            "double",
            "int32",
            "int64",
            "uint32",
            "uint64",
            "sint32",
            "sint64",
            "fixed32",
            "fixed64",
            "sfixed32",
            "sfixed64")) {
      FieldDescriptor kindField = FieldRules.getDescriptor().findFieldByName(kind);
      Message.Builder numeric = FieldRules.newBuilder().newBuilderForField(kindField);
      FieldDescriptor gte = numeric.getDescriptorForType().findFieldByName("gte");
      numeric.setField(gte, number(gte, 2));
      FieldRules rules = FieldRules.newBuilder().setField(kindField, numeric.build()).build();
      Descriptor type =
          oneField(field(Type.valueOf("TYPE_" + kind.toUpperCase(Locale.ROOT))), rules);
      boolean floating = kind.equals("float") || kind.equals("double");

      assertThat(check(type, number(gte, 1)))
          .as(kind)
          .containsExactly(floating ? "v: gte 2.0, is 1.0" : "v: gte 2, is 1");
      assertThat(check(type, number(gte, 2))).as(kind).isEmpty();
    }
  }

  @Test
  void aLowerBoundBelowTheUpperMakesAnInclusiveRangeAndAboveItAnExclusiveOne() {
    Descriptor inside = int32(Int32Rules.newBuilder().setGt(0).setLt(10));
    Descriptor outside = int32(Int32Rules.newBuilder().setGt(10).setLt(5));
    Descriptor closed = int32(Int32Rules.newBuilder().setGte(1).setLte(3));

    assertThat(check(inside, 0)).containsExactly("v: gt 0 and lt 10, is 0");
    assertThat(check(inside, 10)).containsExactly("v: gt 0 and lt 10, is 10");
    assertThat(check(inside, 9)).isEmpty();
    assertThat(check(outside, 7)).containsExactly("v: lt 5 or gt 10, is 7");
    assertThat(check(outside, 5)).containsExactly("v: lt 5 or gt 10, is 5");
    assertThat(check(outside, 10)).containsExactly("v: lt 5 or gt 10, is 10");
    assertThat(check(outside, 4)).isEmpty();
    assertThat(check(outside, 11)).isEmpty();
    assertThat(check(closed, 1)).isEmpty();
    assertThat(check(closed, 3)).isEmpty();
    assertThat(check(closed, 4)).containsExactly("v: gte 1 and lte 3, is 4");
  }

  @Test
  void unsignedKindsCompareUnsigned() {
    Descriptor uint32 =
        oneField(
            field(Type.TYPE_UINT32),
            FieldRules.newBuilder()
                .setUint32(UInt32Rules.newBuilder().setGt(Integer.MIN_VALUE))
                .build());
    Descriptor uint64 =
        oneField(
            field(Type.TYPE_UINT64),
            FieldRules.newBuilder().setUint64(UInt64Rules.newBuilder().setLte(-1L)).build());

    assertThat(check(uint32, 1)).containsExactly("v: gt 2147483648, is 1");
    assertThat(check(uint32, -1)).isEmpty();
    assertThat(check(uint64, Long.MIN_VALUE)).isEmpty();
  }

  @Test
  void constInNotInAndIgnoreEmpty() {
    Descriptor in =
        oneField(
            field(Type.TYPE_SINT64),
            FieldRules.newBuilder()
                .setSint64(SInt64Rules.newBuilder().addIn(1).addIn(2).addNotIn(2))
                .build());
    Descriptor constant =
        oneField(
            field(Type.TYPE_DOUBLE),
            FieldRules.newBuilder().setDouble(DoubleRules.newBuilder().setConst(1.5)).build());
    Descriptor ignoreEmpty = int32(Int32Rules.newBuilder().setGt(5).setIgnoreEmpty(true));

    assertThat(check(in, 3L)).containsExactly("v: in [1, 2], is 3");
    assertThat(check(in, 2L)).containsExactly("v: not_in [2], is 2");
    assertThat(check(in, 1L)).isEmpty();
    assertThat(check(constant, 1.25)).containsExactly("v: const 1.5, is 1.25");
    assertThat(check(constant, Double.NaN)).containsExactly("v: const 1.5, is NaN");
    assertThat(check(ignoreEmpty, 0)).isEmpty();
    assertThat(check(ignoreEmpty, 3)).containsExactly("v: gt 5, is 3");
  }

  @Test
  void nanBreaksNoBoundAsInPgvsComparisons() {
    Descriptor positive =
        oneField(
            field(Type.TYPE_DOUBLE),
            FieldRules.newBuilder().setDouble(DoubleRules.newBuilder().setGt(0)).build());

    assertThat(check(positive, Double.NaN)).isEmpty();
    assertThat(check(positive, -0.5)).containsExactly("v: gt 0.0, is -0.5");
  }

  @Test
  void boolConst() {
    Descriptor type =
        oneField(
            field(Type.TYPE_BOOL),
            FieldRules.newBuilder().setBool(BoolRules.newBuilder().setConst(true)).build());

    assertThat(check(type, false)).containsExactly("v: const true, is false");
    assertThat(check(type, true)).isEmpty();
  }

  @Test
  void enumConstInNotInAndDefinedOnly() {
    Descriptor type =
        oneField(
            field(Type.TYPE_ENUM).setTypeName(".weft.test.Kind"),
            FieldRules.newBuilder()
                .setEnum(EnumRules.newBuilder().setDefinedOnly(true).addIn(1).addIn(7).addNotIn(2))
                .build());
    var kind = type.getFile().findEnumTypeByName("Kind");

    assertThat(check(type, kind.findValueByNumber(1))).isEmpty();
    assertThat(check(type, kind.findValueByNumber(2)))
        .containsExactly("v: in [1, 7], is 2", "v: not_in [2], is 2");
    assertThat(check(type, kind.findValueByNumberCreatingIfUnknown(7)))
        .containsExactly("v: defined_only, is 7");
    Descriptor constant =
        oneField(
            field(Type.TYPE_ENUM).setTypeName(".weft.test.Kind"),
            FieldRules.newBuilder().setEnum(EnumRules.newBuilder().setConst(2)).build());
    assertThat(check(constant, kind.findValueByNumber(0))).containsExactly("v: const 2, is 0");
  }

  // Strings and bytes.

  @Test
  void stringLengthsCountCodePointsAndBytesSeparately() {
    Descriptor characters = string(StringRules.newBuilder().setMinLen(2).setMaxLen(3));
    Descriptor exact = string(StringRules.newBuilder().setLen(2).setLenBytes(3));
    Descriptor bytes = string(StringRules.newBuilder().setMinBytes(3).setMaxBytes(4));

    // Four code points, eight UTF-16 units, sixteen bytes.
    assertThat(check(characters, "😀😀😀😀")).containsExactly("v: max_len 3, has 4");
    assertThat(check(characters, "😀😀")).isEmpty();
    assertThat(check(characters, "é")).containsExactly("v: min_len 2, has 1");
    assertThat(check(exact, "éa")).isEmpty();
    assertThat(check(exact, "ab")).containsExactly("v: len_bytes 3, has 2");
    assertThat(check(exact, "é")).containsExactly("v: len 2, has 1", "v: len_bytes 3, has 2");
    assertThat(check(bytes, "é")).containsExactly("v: min_bytes 3, has 2");
    assertThat(check(bytes, "😀a")).containsExactly("v: max_bytes 4, has 5");
  }

  @Test
  void stringContentRules() {
    Descriptor type =
        string(
            StringRules.newBuilder()
                .setPrefix("/api")
                .setSuffix(".json")
                .setContains("v1")
                .setNotContains(".."));
    Descriptor listed = string(StringRules.newBuilder().addIn("a").addIn("b").addNotIn("b"));
    Descriptor constant = string(StringRules.newBuilder().setConst("exact"));

    assertThat(check(type, "/api/v1/x.json")).isEmpty();
    assertThat(check(type, "/web/../x.yaml"))
        .containsExactly(
            "v: prefix \"/api\", is \"/web/../x.yaml\"",
            "v: suffix \".json\", is \"/web/../x.yaml\"",
            "v: contains \"v1\", is \"/web/../x.yaml\"",
            "v: not_contains \"..\", is \"/web/../x.yaml\"");
    assertThat(check(listed, "c")).containsExactly("v: in [\"a\", \"b\"], is \"c\"");
    assertThat(check(listed, "b")).containsExactly("v: not_in [\"b\"], is \"b\"");
    assertThat(check(constant, "Exact")).containsExactly("v: const \"exact\", is \"Exact\"");
  }

  @Test
  void aPatternMustMatchTheWholeValueAsRe2FullMatchDoes() {
    Descriptor type = string(StringRules.newBuilder().setPattern("[a-z]+"));
    Descriptor dots = string(StringRules.newBuilder().setPattern("a.b"));

    assertThat(check(type, "abc")).isEmpty();
    assertThat(check(type, "abc1")).containsExactly("v: pattern \"[a-z]+\", is \"abc1\"");
    // RE2's '.' matches anything but '\n'; Java's, by default, no '\r' either.
    assertThat(check(dots, "a\rb")).isEmpty();
    assertThat(check(dots, "a\nb")).containsExactly("v: pattern \"a.b\", is \"a\\nb\"");
  }

  @Test
  void wellKnownStringFormats() {
    assertFormat(StringRules.newBuilder().setEmail(true), "email", "ops@example.com", "ops@-x");
    assertFormat(
        StringRules.newBuilder().setEmail(true), "email", "Ops <ops@example.com>", "@example.com");
    assertFormat(
        StringRules.newBuilder().setHostname(true), "hostname", "a-b.example.", "-a.example");
    assertFormat(StringRules.newBuilder().setHostname(true), "hostname", "x1", "a_b.example");
    // As Envoy's (C++) check: no label to refuse; an email's domain must be there, though.
    assertFormat(StringRules.newBuilder().setHostname(true), "hostname", "", "a..b");
    assertFormat(StringRules.newBuilder().setEmail(true), "email", "a@b", "ops@");
    assertFormat(StringRules.newBuilder().setIp(true), "ip", "::1", "1.2.3");
    assertFormat(StringRules.newBuilder().setIpv4(true), "ipv4", "10.0.0.1", "010.0.0.1");
    assertFormat(StringRules.newBuilder().setIpv4(true), "ipv4", "10.0.0.1", "::1");
    assertFormat(StringRules.newBuilder().setIpv6(true), "ipv6", "::ffff:10.0.0.1", "10.0.0.1");
    assertFormat(StringRules.newBuilder().setIpv6(true), "ipv6", "fe80::1", "[fe80::1]");
    assertFormat(StringRules.newBuilder().setIpv6(true), "ipv6", "fe80::1", "fe80::1%eth0");
    assertFormat(StringRules.newBuilder().setUri(true), "uri", "https://x/y?z", "/relative");
    assertFormat(StringRules.newBuilder().setUriRef(true), "uri_ref", "/relative", "a b");
    assertFormat(StringRules.newBuilder().setAddress(true), "address", "10.0.0.1", "a b");
    assertFormat(StringRules.newBuilder().setAddress(true), "address", "svc.ns", "-svc");
    assertFormat(
        StringRules.newBuilder().setUuid(true),
        "uuid",
        "0191B0A4-7c3d-4e5f-8a9b-0c1d2e3f4a5b",
        "0191b0a4-7c3d-4e5f-8a9b-0c1d2e3f4a5");
  }

  @Test
  void headerRulesStrictAndNot() {
    Descriptor name =
        string(StringRules.newBuilder().setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_NAME));
    Descriptor value =
        string(StringRules.newBuilder().setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_VALUE));
    Descriptor loose =
        string(
            StringRules.newBuilder()
                .setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_VALUE)
                .setStrict(false));

    assertThat(check(name, ":path")).isEmpty();
    assertThat(check(name, "")).containsExactly("v: well_known_regex HTTP_HEADER_NAME, is \"\"");
    assertThat(check(value, "a\tb")).isEmpty();
    assertThat(check(value, "a\u0001b"))
        .containsExactly("v: well_known_regex HTTP_HEADER_VALUE, is \"a\\u0001b\"");
    assertThat(check(loose, "a\u0001b")).isEmpty();
    assertThat(check(loose, "a\u0000b"))
        .containsExactly("v: well_known_regex HTTP_HEADER_VALUE (strict: false), is \"a\\u0000b\"");
  }

  @Test
  void ignoreEmptySkipsEveryStringRuleOfAnEmptyValue() {
    Descriptor type =
        string(StringRules.newBuilder().setMinLen(3).setEmail(true).setIgnoreEmpty(true));

    assertThat(check(type, "")).isEmpty();
    assertThat(check(type, "x")).containsExactly("v: min_len 3, has 1", "v: email, is \"x\"");
  }

  @Test
  void bytesRules() {
    Descriptor type =
        oneField(
            field(Type.TYPE_BYTES),
            FieldRules.newBuilder()
                .setBytes(
                    BytesRules.newBuilder()
                        .setMinLen(2)
                        .setMaxLen(4)
                        .setPrefix(ByteString.copyFromUtf8("a"))
                        .setContains(ByteString.copyFromUtf8("b"))
                        .setPattern("^[a-z]*$"))
                .build());
    Descriptor ipv4 =
        oneField(
            field(Type.TYPE_BYTES),
            FieldRules.newBuilder().setBytes(BytesRules.newBuilder().setIpv4(true)).build());

    assertThat(check(type, ByteString.copyFromUtf8("abc"))).isEmpty();
    assertThat(check(type, ByteString.copyFromUtf8("zzzzZ")))
        .containsExactly(
            "v: max_len 4, has 5",
            "v: prefix 0x61, is 0x7a7a7a7a5a",
            "v: contains 0x62, is 0x7a7a7a7a5a",
            "v: pattern \"^[a-z]*$\", is 0x7a7a7a7a5a");
    assertThat(check(ipv4, ByteString.copyFrom(new byte[] {10, 0, 0, 1}))).isEmpty();
    assertThat(check(ipv4, ByteString.copyFrom(new byte[16])))
        .containsExactly("v: ipv4, is 0x00000000000000000000000000000000");
  }

  // Lists and maps.

  @Test
  void repeatedCountsUniquenessAndItemRules() {
    Descriptor type =
        oneField(
            field(Type.TYPE_STRING).setLabel(Label.LABEL_REPEATED),
            FieldRules.newBuilder()
                .setRepeated(
                    RepeatedRules.newBuilder()
                        .setMaxItems(3)
                        .setUnique(true)
                        .setItems(
                            FieldRules.newBuilder()
                                .setString(StringRules.newBuilder().setMinLen(1))))
                .build());
    Descriptor ignoreEmpty =
        oneField(
            field(Type.TYPE_STRING).setLabel(Label.LABEL_REPEATED),
            FieldRules.newBuilder()
                .setRepeated(RepeatedRules.newBuilder().setMinItems(2).setIgnoreEmpty(true))
                .build());

    assertThat(checkList(type, "a", "b")).isEmpty();
    assertThat(checkList(type, "a", "", "a", "b"))
        .containsExactly(
            "v: max_items 3, has 4", "v[2]: unique, repeats [0]", "v[1]: min_len 1, has 0");
    assertThat(checkList(ignoreEmpty)).isEmpty();
    assertThat(checkList(ignoreEmpty, "a")).containsExactly("v: min_items 2, has 1");
  }

  @Test
  void mapCountsKeysAndValuesAndAnEntryWithoutValueHoldsTheDefault() throws IOException {
    FieldRules rules =
        FieldRules.newBuilder()
            .setMap(
                MapRules.newBuilder()
                    .setMaxPairs(2)
                    .setNoSparse(true)
                    .setKeys(
                        FieldRules.newBuilder().setString(StringRules.newBuilder().setMinLen(2)))
                    .setValues(
                        FieldRules.newBuilder()
                            .setDuration(
                                DurationRules.newBuilder().setGt(Duration.getDefaultInstance()))))
            .build();
    Descriptor type = mapOfDurations(rules);
    FieldDescriptor map = type.findFieldByName("v");
    Descriptor entryType = map.getMessageType();
    DynamicMessage.Builder message = DynamicMessage.newBuilder(type);
    message.addRepeatedField(map, entry(entryType, "ok", Durations.fromSeconds(1)));
    message.addRepeatedField(map, entry(entryType, "z", Durations.fromSeconds(0)));
    // On the wire, an entry of key "sparse" and no value (field 1, 8 bytes: key "sparse").
    ByteString sparse =
        ByteString.copyFrom(new byte[] {0x0a, 0x08, 0x0a, 0x06})
            .concat(ByteString.copyFromUtf8("sparse"));
    message.mergeFrom(sparse);

    // Java, like C++, reads the missing value as the default: no_sparse cannot fire, the value's
    // own rules apply to the default.
    assertThat(EnvoyConstraints.violations(message.build(), CLOCK))
        .containsExactly(
            "v: max_pairs 2, has 3",
            "v[\"z\"].key: min_len 2, has 1",
            "v[\"z\"]: gt 0s, is 0s",
            "v[\"sparse\"]: gt 0s, is 0s");
  }

  // Well-known message types.

  @Test
  void anyRequiredInAndNotIn() {
    Descriptor type =
        oneField(
            field(Type.TYPE_MESSAGE).setTypeName(".google.protobuf.Any"),
            FieldRules.newBuilder()
                .setAny(
                    AnyRules.newBuilder()
                        .setRequired(true)
                        .addIn("type.googleapis.com/google.protobuf.Duration"))
                .build());
    Descriptor refused =
        oneField(
            field(Type.TYPE_MESSAGE).setTypeName(".google.protobuf.Any"),
            FieldRules.newBuilder()
                .setAny(
                    AnyRules.newBuilder().addNotIn("type.googleapis.com/google.protobuf.Duration"))
                .build());

    assertThat(EnvoyConstraints.violations(DynamicMessage.newBuilder(type).build(), CLOCK))
        .containsExactly("v: required, not set");
    assertThat(check(type, Any.pack(Durations.fromSeconds(1)))).isEmpty();
    assertThat(check(type, Any.pack(StringValue.of("x"))))
        .containsExactly(
            "v: in [type.googleapis.com/google.protobuf.Duration],"
                + " is type.googleapis.com/google.protobuf.StringValue");
    assertThat(check(refused, Any.pack(Durations.fromSeconds(1))))
        .containsExactly(
            "v: not_in [type.googleapis.com/google.protobuf.Duration],"
                + " is type.googleapis.com/google.protobuf.Duration");
  }

  @Test
  void durationRules() {
    Descriptor range =
        duration(
            DurationRules.newBuilder()
                .setRequired(true)
                .setGte(Durations.fromMillis(100))
                .setLt(Durations.fromSeconds(1)));
    Descriptor listed =
        duration(
            DurationRules.newBuilder()
                .addIn(Durations.fromSeconds(1))
                .addIn(Durations.fromSeconds(2))
                .addNotIn(Durations.fromSeconds(2)));
    Descriptor constant = duration(DurationRules.newBuilder().setConst(Durations.fromSeconds(5)));

    assertThat(EnvoyConstraints.violations(DynamicMessage.newBuilder(range).build(), CLOCK))
        .containsExactly("v: required, not set");
    assertThat(check(range, Durations.fromMillis(100))).isEmpty();
    assertThat(check(range, Durations.fromMillis(1000)))
        .containsExactly("v: gte 0.1s and lt 1s, is 1s");
    assertThat(check(range, Duration.newBuilder().setSeconds(400_000_000_000L).build()))
        .containsExactly("v: not a valid duration");
    assertThat(check(listed, Durations.fromSeconds(3))).containsExactly("v: in [1s, 2s], is 3s");
    assertThat(check(listed, Durations.fromSeconds(2))).containsExactly("v: not_in [2s], is 2s");
    assertThat(check(constant, Durations.fromNanos(5_000_000_001L)))
        .containsExactly("v: const 5s, is 5.000000001s");
  }

  @Test
  void timestampRulesCompareWithTheClock() {
    Timestamp hourAgo = Timestamps.fromMillis(NOW.minusSeconds(3600).toEpochMilli());
    Timestamp hourAhead = Timestamps.fromMillis(NOW.plusSeconds(3600).toEpochMilli());
    Timestamp dayAhead = Timestamps.fromMillis(NOW.plusSeconds(86_400).toEpochMilli());
    Descriptor past = timestamp(TimestampRules.newBuilder().setLtNow(true));
    Descriptor soon =
        timestamp(TimestampRules.newBuilder().setGtNow(true).setWithin(Durations.fromHours(2)));
    Descriptor near = timestamp(TimestampRules.newBuilder().setWithin(Durations.fromHours(2)));
    Descriptor before = timestamp(TimestampRules.newBuilder().setLt(hourAhead).setLtNow(true));

    assertThat(check(past, hourAgo)).isEmpty();
    assertThat(check(past, hourAhead)).containsExactly("v: lt_now, is 2030-01-01T01:00:00Z");
    assertThat(check(soon, hourAhead)).isEmpty();
    assertThat(check(soon, dayAhead))
        .containsExactly("v: gt_now within 7200s, is 2030-01-02T00:00:00Z");
    assertThat(check(soon, hourAgo))
        .containsExactly("v: gt_now within 7200s, is 2029-12-31T23:00:00Z");
    assertThat(check(near, hourAgo)).isEmpty();
    assertThat(check(near, dayAhead))
        .containsExactly("v: within 7200s of now, is 2030-01-02T00:00:00Z");
    // An absolute bound takes precedence over lt_now, as in PGV's Go generator.
    assertThat(check(before, Timestamps.fromMillis(NOW.plusSeconds(60).toEpochMilli()))).isEmpty();
    assertThat(check(before, dayAhead))
        .containsExactly("v: lt 2030-01-01T01:00:00Z, is 2030-01-02T00:00:00Z");
  }

  // Messages and oneofs.

  @Test
  void requiredSkipDisabledAndIgnored() throws DescriptorValidationException {
    Descriptor checked = nestedMessages(MessageOptions.getDefaultInstance());
    Descriptor disabled =
        nestedMessages(MessageOptions.newBuilder().setExtension(Validate.disabled, true).build());
    Descriptor ignored =
        nestedMessages(MessageOptions.newBuilder().setExtension(Validate.ignored, true).build());

    assertThat(EnvoyConstraints.violations(withEmptyInners(checked), CLOCK))
        .containsExactly("required.name: min_len 1, has 0", "plain.name: min_len 1, has 0");
    assertThat(EnvoyConstraints.violations(DynamicMessage.newBuilder(checked).build(), CLOCK))
        .containsExactly("required: required, not set");
    assertThat(EnvoyConstraints.violations(withEmptyInners(disabled), CLOCK)).isEmpty();
    assertThat(EnvoyConstraints.violations(withEmptyInners(ignored), CLOCK)).isEmpty();
  }

  @Test
  void aProto3OptionalScalarIsCheckedOnlyWhenSet() throws DescriptorValidationException {
    FieldDescriptorProto.Builder optional =
        field(Type.TYPE_STRING)
            .setProto3Optional(true)
            .setOneofIndex(0)
            .setOptions(
                rules(
                    FieldRules.newBuilder()
                        .setString(StringRules.newBuilder().setMinLen(1))
                        .build()));
    Descriptor type =
        build(
                DescriptorProto.newBuilder()
                    .setName("Checked")
                    .addField(optional)
                    .addOneofDecl(OneofDescriptorProto.newBuilder().setName("_v")))
            .findMessageTypeByName("Checked");

    assertThat(EnvoyConstraints.violations(DynamicMessage.newBuilder(type).build(), CLOCK))
        .isEmpty();
    assertThat(check(type, "")).containsExactly("v: min_len 1, has 0");
  }

  // Helpers: Envoy messages.

  private static Route.Builder forward(String cluster) {
    return Route.newBuilder()
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(RouteAction.newBuilder().setCluster(cluster));
  }

  private static HttpConnectionManager withDomain(HttpConnectionManager manager) {
    HttpConnectionManager.Builder builder = manager.toBuilder();
    builder.getRouteConfigBuilder().getVirtualHostsBuilder(0).addDomains("*");
    return builder.build();
  }

  // Helpers: messages built here, as protoc builds them from a .proto with PGV annotations.

  private static FieldDescriptorProto.Builder field(Type type) {
    return FieldDescriptorProto.newBuilder()
        .setName("v")
        .setNumber(1)
        .setType(type)
        .setLabel(Label.LABEL_OPTIONAL);
  }

  private static FieldOptions rules(FieldRules rules) {
    return FieldOptions.newBuilder().setExtension(Validate.rules, rules).build();
  }

  /** A message {@code weft.test.Checked} with one field {@code v} under {@code rules}. */
  private static Descriptor oneField(FieldDescriptorProto.Builder field, FieldRules rules) {
    try {
      return build(
              DescriptorProto.newBuilder()
                  .setName("Checked")
                  .addField(field.setOptions(rules(rules))))
          .findMessageTypeByName("Checked");
    } catch (DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Descriptor int32(Int32Rules.Builder rules) {
    return oneField(field(Type.TYPE_INT32), FieldRules.newBuilder().setInt32(rules).build());
  }

  private static Descriptor string(StringRules.Builder rules) {
    return oneField(field(Type.TYPE_STRING), FieldRules.newBuilder().setString(rules).build());
  }

  private static Descriptor duration(DurationRules.Builder rules) {
    return oneField(
        field(Type.TYPE_MESSAGE).setTypeName(".google.protobuf.Duration"),
        FieldRules.newBuilder().setDuration(rules).build());
  }

  private static Descriptor timestamp(TimestampRules.Builder rules) {
    return oneField(
        field(Type.TYPE_MESSAGE).setTypeName(".google.protobuf.Timestamp"),
        FieldRules.newBuilder().setTimestamp(rules).build());
  }

  /** A message whose field {@code v} is a map of strings to Durations, as protoc writes one. */
  private static Descriptor mapOfDurations(FieldRules rules) {
    DescriptorProto entry =
        DescriptorProto.newBuilder()
            .setName("VEntry")
            .addField(
                FieldDescriptorProto.newBuilder()
                    .setName("key")
                    .setNumber(1)
                    .setType(Type.TYPE_STRING)
                    .setLabel(Label.LABEL_OPTIONAL))
            .addField(
                FieldDescriptorProto.newBuilder()
                    .setName("value")
                    .setNumber(2)
                    .setType(Type.TYPE_MESSAGE)
                    .setTypeName(".google.protobuf.Duration")
                    .setLabel(Label.LABEL_OPTIONAL))
            .setOptions(MessageOptions.newBuilder().setMapEntry(true))
            .build();
    try {
      return build(
              DescriptorProto.newBuilder()
                  .setName("Checked")
                  .addNestedType(entry)
                  .addField(
                      field(Type.TYPE_MESSAGE)
                          .setLabel(Label.LABEL_REPEATED)
                          .setTypeName(".weft.test.Checked.VEntry")
                          .setOptions(rules(rules))))
          .findMessageTypeByName("Checked");
    } catch (DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static DynamicMessage entry(Descriptor entryType, String key, Duration value) {
    return DynamicMessage.newBuilder(entryType)
        .setField(entryType.findFieldByName("key"), key)
        .setField(entryType.findFieldByName("value"), value)
        .build();
  }

  /**
   * {@code Outer} with three fields of type {@code Inner} (whose {@code name} needs one character
   * and whose options are {@code innerOptions}): {@code required} (required), {@code skipped}
   * (skip) and {@code plain} (no rules).
   */
  private static Descriptor nestedMessages(MessageOptions innerOptions)
      throws DescriptorValidationException {
    DescriptorProto inner =
        DescriptorProto.newBuilder()
            .setName("Inner")
            .setOptions(innerOptions)
            .addField(
                FieldDescriptorProto.newBuilder()
                    .setName("name")
                    .setNumber(1)
                    .setType(Type.TYPE_STRING)
                    .setLabel(Label.LABEL_OPTIONAL)
                    .setOptions(
                        rules(
                            FieldRules.newBuilder()
                                .setString(StringRules.newBuilder().setMinLen(1))
                                .build())))
            .build();
    DescriptorProto.Builder outer = DescriptorProto.newBuilder().setName("Outer");
    int number = 1;
    for (String name : List.of("required", "skipped", "plain")) {
      MessageRules.Builder messageRules = MessageRules.newBuilder();
      if (name.equals("required")) {
        messageRules.setRequired(true);
      } else if (name.equals("skipped")) {
        messageRules.setSkip(true);
      }
      outer.addField(
          FieldDescriptorProto.newBuilder()
              .setName(name)
              .setNumber(number++)
              .setType(Type.TYPE_MESSAGE)
              .setTypeName(".weft.test.Inner")
              .setLabel(Label.LABEL_OPTIONAL)
              .setOptions(rules(FieldRules.newBuilder().setMessage(messageRules).build())));
    }
    FileDescriptor file = build(inner.toBuilder(), outer);
    return file.findMessageTypeByName("Outer");
  }

  private static DynamicMessage withEmptyInners(Descriptor outer) {
    DynamicMessage.Builder message = DynamicMessage.newBuilder(outer);
    for (FieldDescriptor field : outer.getFields()) {
      message.setField(field, DynamicMessage.getDefaultInstance(field.getMessageType()));
    }
    return message.build();
  }

  /** A proto3 file {@code weft/test/checked.proto} with these messages and an enum {@code Kind}. */
  private static FileDescriptor build(DescriptorProto.Builder... messages)
      throws DescriptorValidationException {
    FileDescriptorProto.Builder file =
        FileDescriptorProto.newBuilder()
            .setName("weft/test/checked.proto")
            .setPackage("weft.test")
            .setSyntax("proto3")
            .addDependency("google/protobuf/any.proto")
            .addDependency("google/protobuf/duration.proto")
            .addDependency("google/protobuf/timestamp.proto")
            .addDependency("google/protobuf/wrappers.proto")
            .addEnumType(
                EnumDescriptorProto.newBuilder()
                    .setName("Kind")
                    .addValue(EnumValueDescriptorProto.newBuilder().setName("ZERO").setNumber(0))
                    .addValue(EnumValueDescriptorProto.newBuilder().setName("ONE").setNumber(1))
                    .addValue(EnumValueDescriptorProto.newBuilder().setName("TWO").setNumber(2)));
    for (DescriptorProto.Builder message : messages) {
      file.addMessageType(message);
    }
    return FileDescriptor.buildFrom(
        file.build(),
        new FileDescriptor[] {
          AnyProto.getDescriptor(),
          DurationProto.getDescriptor(),
          TimestampProto.getDescriptor(),
          WrappersProto.getDescriptor()
        });
  }

  private static List<String> check(Descriptor type, Object value) {
    DynamicMessage message =
        DynamicMessage.newBuilder(type).setField(type.findFieldByName("v"), value).build();
    return EnvoyConstraints.violations(message, CLOCK);
  }

  private static List<String> checkList(Descriptor type, String... values) {
    DynamicMessage.Builder message = DynamicMessage.newBuilder(type);
    for (String value : values) {
      message.addRepeatedField(type.findFieldByName("v"), value);
    }
    return EnvoyConstraints.violations(message.build(), CLOCK);
  }

  private static void assertFormat(
      StringRules.Builder rules, String rule, String valid, String invalid) {
    Descriptor type = string(rules);
    assertThat(check(type, valid)).as(valid).isEmpty();
    assertThat(check(type, invalid))
        .as(invalid)
        .containsExactly("v: " + rule + ", is \"" + invalid + "\"");
  }

  /** {@code n} as the Java type {@code field} holds. */
  private static Object number(FieldDescriptor field, int n) {
    return switch (field.getJavaType()) {
      case INT -> n;
      case LONG -> (long) n;
      case FLOAT -> (float) n;
      case DOUBLE -> (double) n;
      default -> throw new IllegalArgumentException(field + " is not numeric");
    };
  }
}
