package dev.weft.distributor;

import dev.weft.ca.Authenticator;
import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.CredentialFiles;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.WorkloadAgent;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A real Weft CA with its CSR server, for end-to-end tests of mutual TLS: workloads get their SVIDs
 * the way they would in a mesh, from a {@link WorkloadAgent} that authenticates with a bootstrap
 * token and writes the files gRPC's {@code file_watcher} provider reads.
 */
final class TestCa implements AutoCloseable {

  private final Path dir;
  private final CertificateAuthority ca;
  private final CaServer server;
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);

  /**
   * @param serviceAccounts the workloads that may get certificates, as {@code namespace/account};
   *     each gets a bootstrap token of its own
   */
  TestCa(Path dir, String... serviceAccounts) throws IOException {
    this(dir, List.of(), serviceAccounts);
  }

  /**
   * A CA whose port also serves {@code services}, as Weft serves xDS over mutual TLS beside its CSR
   * service.
   */
  TestCa(Path dir, List<ServerServiceDefinition> services, String... serviceAccounts)
      throws IOException {
    this(dir, services, null, serviceAccounts);
  }

  /** As above, with {@code tracer} on every stream of the port (null for none). */
  TestCa(
      Path dir,
      List<ServerServiceDefinition> services,
      ServerStreamTracer.Factory tracer,
      String... serviceAccounts)
      throws IOException {
    this.dir = dir;
    this.ca =
        CertificateAuthority.builder().store(KeyMaterialStore.directory(dir.resolve("ca"))).build();
    StringBuilder tokens = new StringBuilder();
    for (String account : serviceAccounts) {
      int slash = account.indexOf('/');
      tokens.append(token(account)).append(' ').append(account, 0, slash).append(' ');
      tokens.append(account.substring(slash + 1)).append('\n');
    }
    Files.writeString(dir.resolve("tokens"), tokens);
    CaServer.Builder builder = CaServer.builder(ca);
    services.forEach(builder::service);
    if (tracer != null) {
      builder.streamTracer(tracer);
    }
    this.server =
        builder
            .port(0)
            .dnsNames(List.of("localhost"))
            .authenticator(
                Authenticator.firstOf(
                    List.of(
                        Authenticator.currentSvid(ca, Clock.systemUTC()),
                        Authenticator.bootstrapTokens(dir.resolve("tokens")))))
            .start();
  }

  CertificateAuthority authority() {
    return ca;
  }

  /** The CA's port: its CSR service, and whatever else it serves. */
  int port() {
    return server.port();
  }

  /**
   * Certificates issued through the CA server, once, to the agent of {@code account} ({@code
   * namespace/account}).
   */
  Path credentials(String account, Duration validity) throws IOException {
    Path out = dir.resolve(account.replace('/', '-'));
    try (WorkloadAgent agent = agent(account, out, validity)) {
      agent.renewNow();
    }
    return out;
  }

  /** An agent of {@code account} writing to {@code out}; the caller starts and closes it. */
  WorkloadAgent agent(String account, Path out, Duration validity) throws IOException {
    Path tokenFile = dir.resolve(account.replace('/', '-') + ".token");
    Files.writeString(tokenFile, token(account) + "\n");
    return WorkloadAgent.builder()
        .target("localhost:" + server.port())
        .serverSpiffeId(server.spiffeId())
        .bootstrapTrustBundle(ca.trustBundle())
        .tokenFile(tokenFile)
        .outputDirectory(out)
        .validity(validity)
        .scheduler(scheduler)
        .random(new Random(7))
        .build();
  }

  /** A bootstrap token of 128 bits, the shortest the CA accepts, derived from the account. */
  private static String token(String account) {
    return java.util.HexFormat.of()
        .formatHex(
            java.nio.ByteBuffer.allocate(16)
                .putLong(account.hashCode())
                .putLong(~(long) account.hashCode())
                .array());
  }

  /** The bootstrap's certificate files for credentials an agent wrote. */
  static Bootstrap.CertificateFiles files(Path credentials) {
    return new Bootstrap.CertificateFiles(
        credentials.resolve(CredentialFiles.CERTIFICATE_FILE),
        credentials.resolve(CredentialFiles.PRIVATE_KEY_FILE),
        credentials.resolve(CredentialFiles.CA_CERTIFICATE_FILE),
        Duration.ofSeconds(1));
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    try {
      server.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
