package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SotwRequestTest {

  private static final String CLA =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  @Test
  void readsEveryFieldAndDecodesNamesOnlyOnDemand() throws Exception {
    DiscoveryRequest proto =
        DiscoveryRequest.newBuilder()
            .setNode(Node.newBuilder().setId("proxy-1"))
            .setVersionInfo("v1")
            .addAllResourceNames(List.of("b.demo:80", "a.demo:80"))
            .setTypeUrl(CLA)
            .setResponseNonce("7")
            .setErrorDetail(Status.newBuilder().setMessage("bad"))
            .build();

    SotwRequest request = SotwRequest.parse(proto.toByteArray());

    assertThat(request.node().getId()).isEqualTo("proxy-1");
    assertThat(request.versionInfo()).isEqualTo("v1");
    assertThat(request.typeUrl()).isEqualTo(CLA);
    assertThat(request.responseNonce()).isEqualTo("7");
    assertThat(request.errorDetail().getMessage()).isEqualTo("bad");
    assertThat(request.resourceNames()).containsExactly("b.demo:80", "a.demo:80");
  }

  @Test
  void countsNamesAndMeasuresTheLongestInBytesWithoutDecodingThem() throws Exception {
    SotwRequest request = request("1", "a.demo:80", "é".repeat(10), "b");

    assertThat(request.nameCount()).isEqualTo(3);
    assertThat(request.longestName()).as("UTF-8 bytes, not characters").isEqualTo(20);
    assertThat(request("1").nameCount()).isZero();
    assertThat(request("1").longestName()).isZero();
  }

  @Test
  void sameNamesInTheSameOrderCompareEqualWhateverElseDiffers() throws Exception {
    SotwRequest.Names first = request("1", "a", "b").names();

    assertThat(request("2", "a", "b").names()).isEqualTo(first);
    assertThat(request("2", "b", "a").names()).isNotEqualTo(first);
    assertThat(request("2", "a").names()).isNotEqualTo(first);
    assertThat(request("2", "a", "bb").names()).isNotEqualTo(first);
    assertThat(request("2", "ab").names()).isNotEqualTo(request("3", "a", "b").names());
  }

  @Test
  void namesInterleavedWithOtherFieldsCompareAsTheSameList() throws Exception {
    byte[] contiguous = new SotwRequest.Marshaller().stream(request("1", "a", "b")).readAllBytes();
    // Field 3 ("a"), field 5 (nonce "1"), field 3 ("b"): legal protobuf, any order of fields.
    byte[] interleaved = {0x1a, 1, 'a', 0x2a, 1, '1', 0x1a, 1, 'b'};

    SotwRequest parsed = SotwRequest.parse(interleaved);

    assertThat(parsed.resourceNames()).containsExactly("a", "b");
    assertThat(parsed.names()).isEqualTo(SotwRequest.parse(contiguous).names());
  }

  @Test
  void theMarshallerReadsStreamsThatUnderstateTheirLength() throws Exception {
    byte[] bytes = new SotwRequest.Marshaller().stream(request("1", "a", "b")).readAllBytes();
    InputStream understating =
        new ByteArrayInputStream(bytes) {
          @Override
          public synchronized int available() {
            return Math.min(3, super.available());
          }
        };

    SotwRequest parsed = new SotwRequest.Marshaller().parse(understating);

    assertThat(parsed.resourceNames()).containsExactly("a", "b");
    assertThat(parsed.responseNonce()).isEqualTo("1");
  }

  private static SotwRequest request(String nonce, String... names) throws Exception {
    return SotwRequest.parse(
        DiscoveryRequest.newBuilder()
            .setTypeUrl(CLA)
            .setResponseNonce(nonce)
            .addAllResourceNames(List.of(names))
            .build()
            .toByteArray());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    // resource_names (3) holding 0xff, which no UTF-8 string starts with
    "a name that is not UTF-8, 1a01ff, not UTF-8",
    // version_info (1) as a fixed64, then a name: the later walks would skip it differently
    "a known field of another wire type, 0901612301311a0162, field 1 has wire type 1",
  })
  void aRequestWhoseNamesCouldNotBeDecodedLaterIsRefusedNow(
      String what, String hex, String message) {
    byte[] raw = HexFormat.of().parseHex(hex);

    assertThatThrownBy(() -> new SotwRequest.Marshaller().parse(new ByteArrayInputStream(raw)))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("INTERNAL: malformed DiscoveryRequest")
        .hasMessageContaining(message);
  }
}
