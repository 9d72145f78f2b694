package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CA server's own certificate renews at half-life, at the next handshake, without restart. */
class CaServerRenewalTest {

  static final String TOKEN = "renewal-test-token-0123456789";

  @TempDir Path dir;

  @Test
  void servingCertificateRenewsAtHalfLife() throws Exception {
    FakeClock clock = new FakeClock(Instant.now());
    CertificateAuthority ca =
        CertificateAuthority.builder()
            .clock(clock)
            .store(KeyMaterialStore.directory(dir.resolve("ca")))
            .build();
    Files.writeString(dir.resolve("tokens"), TOKEN + " shop a\n");
    try (CaServer server =
        CaServer.builder(ca)
            .port(0)
            .clock(clock)
            .dnsNames(List.of("localhost"))
            .authenticator(Authenticator.bootstrapTokens(dir.resolve("tokens")))
            .start()) {
      BigInteger first = serial(server);
      assertThat(server.lastServing().svid().leaf().getSubjectAlternativeNames())
          .contains(List.of(2, "localhost"));

      call(server, clock);
      assertThat(serial(server)).isEqualTo(first);

      clock.advance(Duration.ofMinutes(31));
      assertThat(serial(server)).as("renewed by a handshake, not by time alone").isEqualTo(first);
      call(server, clock);

      assertThat(serial(server)).isNotEqualTo(first);
    }
  }

  private static BigInteger serial(CaServer server) {
    return server.lastServing().svid().leaf().getSerialNumber();
  }

  /** A call over a new connection, so a new handshake, trusting by the fake clock. */
  private static CertificateResponse call(CaServer server, FakeClock clock) throws Exception {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "localhost:" + server.port(),
                TlsChannelCredentials.newBuilder()
                    .trustManager(
                        new SpiffeTrust(
                            () -> server.lastServing().svid().trustBundle(),
                            clock,
                            server.spiffeId()::equals))
                    .build())
            .build();
    try {
      Metadata headers = new Metadata();
      headers.put(CallerContext.AUTHORIZATION, "Bearer " + TOKEN);
      return ClientCalls.blockingUnaryCall(
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers)),
          CertificateServiceGrpc.getCreateCertificateMethod(),
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
          CertificateRequest.newBuilder()
              .setCsrDer(ByteString.copyFrom(TestCsrs.plain(TestCsrs.ec("secp256r1"))))
              .build());
    } finally {
      channel.shutdownNow();
    }
  }
}
