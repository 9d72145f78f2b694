package dev.weft.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class CallTargetTest {

  @Test
  void readsHostAndPortFromTheTargetsGrpcReports() {
    assertThat(parse("xds:///greeter.shop.svc.cluster.local:8080"))
        .extracting(CallTarget::host, CallTarget::port)
        .containsExactly("greeter.shop.svc.cluster.local", 8080);
    assertThat(parse("dns:///127.0.0.1:50051"))
        .extracting(CallTarget::host, CallTarget::port)
        .containsExactly("127.0.0.1", 50051);
    assertThat(parse("Greeter.Shop:80"))
        .extracting(CallTarget::host, CallTarget::port)
        .containsExactly("greeter.shop", 80);
    assertThat(parse("xds:///greeter"))
        .extracting(CallTarget::host, CallTarget::port)
        .containsExactly("greeter", -1);
    assertThat(parse("dns:///[::1]:443"))
        .extracting(CallTarget::host, CallTarget::port)
        .containsExactly("::1", 443);
  }

  @Test
  void neverThrowsOnNonsense() {
    assertThat(parse("::::").port()).isEqualTo(-1);
    assertThat(parse("xds://%%%/a b").host()).isNotNull();
    assertThat(parse("").host()).isEmpty();
  }

  private static CallTarget parse(String target) {
    return CallTarget.parse(target, Optional.empty());
  }
}
