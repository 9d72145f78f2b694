package dev.weft.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both stores: a restart keeps the root; replicas starting together end up with one CA. */
@EnableKubernetesMockClient(crud = true)
class KeyMaterialStoreTest {

  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path dir;
  final FakeClock clock = new FakeClock(Instant.parse("2026-01-01T00:00:00Z"));

  /** The mock server's state is shared by the tests of this class: each gets a namespace. */
  String newNamespace() {
    String name = "ca-" + UUID.randomUUID().toString().substring(0, 8);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  CertificateAuthority open(KeyMaterialStore store) throws Exception {
    return CertificateAuthority.builder().clock(clock).store(store).build();
  }

  @Test
  void directoryStoreIsOwnerOnlyAndKeepsTheRootAcrossARestart() throws Exception {
    Path data = dir.resolve("data");
    CertificateAuthority first = open(KeyMaterialStore.directory(data));

    assertThat(Files.getPosixFilePermissions(data.resolve(DirectoryStore.FILE)))
        .isEqualTo(DirectoryStore.OWNER_ONLY);
    assertThat(Files.getPosixFilePermissions(data))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    try (var files = Files.list(data)) {
      assertThat(files.toList()).as("no temporary file left").hasSize(1);
    }
    assertThat(open(KeyMaterialStore.directory(data)).trustBundle()).isEqualTo(first.trustBundle());
  }

  @Test
  void directoryStoreCreateIfAbsentKeepsTheFirst() throws Exception {
    KeyMaterialStore store = KeyMaterialStore.directory(dir);

    assertThat(store.createIfAbsent(Map.of("a", "1"))).containsEntry("a", "1");
    assertThat(store.createIfAbsent(Map.of("a", "2"))).containsEntry("a", "1");
    store.replace(Map.of("a", "3"));
    assertThat(store.load()).contains(Map.of("a", "3"));
  }

  @Test
  void directoryStoreForcesItsDataToDiskBeforeTheRenameAndTheDirectoryAfter() throws Exception {
    Path data = dir.resolve("data");
    Path file = data.resolve(DirectoryStore.FILE);
    List<String> steps = new ArrayList<>();
    Durable.Sync watching =
        new Durable.Sync() {
          @Override
          public void file(Path written, FileChannel channel) throws IOException {
            Durable.FORCE.file(written, channel);
            steps.add(
                "fsync "
                    + (written.equals(file) ? "the store's file" : "a temporary file")
                    + " holding "
                    + entry(written)
                    + "; the store's file holds "
                    + entry(file));
          }

          @Override
          public void directory(Path directory) throws IOException {
            Durable.FORCE.directory(directory);
            steps.add(
                "fsync " + dir.relativize(directory) + "; the store's file holds " + entry(file));
          }
        };
    KeyMaterialStore store = new DirectoryStore(data, watching);

    store.createIfAbsent(Map.of("a", "1"));
    store.replace(Map.of("a", "2"));

    // A crash at any point leaves the store's file whole: old, or new, never empty or torn.
    assertThat(steps)
        .containsExactly(
            "fsync a temporary file holding a=1; the store's file holds nothing",
            "fsync data; the store's file holds a=1",
            "fsync a temporary file holding a=2; the store's file holds a=1",
            "fsync data; the store's file holds a=2");
  }

  @Test
  void aPlatformThatCannotSyncADirectoryStillStores() throws Exception {
    Path data = dir.resolve("data");
    Durable.Sync refusing =
        new Durable.Sync() {
          @Override
          public void file(Path written, FileChannel channel) throws IOException {
            Durable.FORCE.file(written, channel);
          }

          @Override
          public void directory(Path directory) throws IOException {
            throw new AccessDeniedException(directory.toString());
          }
        };
    KeyMaterialStore store = new DirectoryStore(data, refusing);

    store.createIfAbsent(Map.of("a", "1"));
    store.replace(Map.of("a", "2"));

    assertThat(KeyMaterialStore.directory(data).load()).contains(Map.of("a", "2"));
    // Linux itself does sync a directory opened for reading.
    Durable.FORCE.directory(data);
  }

  private static String entry(Path file) throws IOException {
    if (!Files.exists(file)) {
      return "nothing";
    }
    Properties properties = new Properties();
    properties.load(new StringReader(Files.readString(file)));
    return "a=" + properties.getProperty("a");
  }

  @Test
  void secretStoreKeepsTheRootAcrossARestart() throws Exception {
    String namespace = newNamespace();
    CertificateAuthority first =
        open(KeyMaterialStore.kubernetesSecret(client, namespace, "weft-ca"));

    assertThat(client.secrets().inNamespace(namespace).withName("weft-ca").get()).isNotNull();
    assertThat(open(KeyMaterialStore.kubernetesSecret(client, namespace, "weft-ca")).trustBundle())
        .isEqualTo(first.trustBundle());
  }

  @Test
  void twoReplicasStartingTogetherEndUpWithOneCa() throws Exception {
    String namespace = newNamespace();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    // Each replica with a client of its own, as two pods would have.
    try (KubernetesClient first = server.createClient();
        KubernetesClient second = server.createClient()) {
      List<Future<CertificateAuthority>> replicas =
          pool.invokeAll(
              List.of(
                  () -> open(KeyMaterialStore.kubernetesSecret(first, namespace, "weft-ca")),
                  () -> open(KeyMaterialStore.kubernetesSecret(second, namespace, "weft-ca"))));

      assertThat(replicas.get(0).get().trustBundle())
          .isEqualTo(replicas.get(1).get().trustBundle());
      assertThat(replicas.get(0).get().trustBundle()).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aReplicaThatMissedAnotherOnesRotationCannotOverwriteIt() throws Exception {
    String namespace = newNamespace();
    KeyMaterialStore leader = KeyMaterialStore.kubernetesSecret(client, namespace, "weft-ca");
    KeyMaterialStore stale = KeyMaterialStore.kubernetesSecret(client, namespace, "weft-ca");
    leader.createIfAbsent(Map.of("a", "1"));
    stale.load();

    leader.replace(Map.of("a", "2"));

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> stale.replace(Map.of("a", "3")))
        .hasMessageContaining("reload first");
    assertThat(stale.load()).contains(Map.of("a", "2"));
    stale.replace(Map.of("a", "3"));
    assertThat(leader.load()).contains(Map.of("a", "3"));
  }

  @Test
  void theLoserOfTheCreateReadsTheWinnersSecret() throws Exception {
    String namespace = newNamespace();
    KeyMaterialStore store = KeyMaterialStore.kubernetesSecret(client, namespace, "weft-ca");

    assertThat(store.createIfAbsent(Map.of("a", "winner"))).containsEntry("a", "winner");
    assertThat(store.createIfAbsent(Map.of("a", "loser"))).containsEntry("a", "winner");
    store.replace(Map.of("a", "rotated"));
    assertThat(store.load()).contains(Map.of("a", "rotated"));
  }
}
