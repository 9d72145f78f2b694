package dev.weft.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectorySourceTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ServiceKey REVIEWS = new ServiceKey("shop", "reviews");

  @TempDir Path dir;
  private MeshRegistry registry;
  private DirectorySource source;

  @BeforeEach
  void createRegistry() {
    registry = MeshRegistry.create();
  }

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
    registry.close();
  }

  @Test
  void readsEveryFileBeforeReportingSynced() throws IOException {
    write("reviews.yaml", reviewsService(9080) + "---\n" + reviewsSlice("10.0.0.1", "10.0.0.2"));
    write("nested/ratings.yml", service("ratings", 9080));

    start();

    assertThat(registry.isSynced()).isTrue();
    MeshState state = registry.current();
    assertThat(state.services()).containsKeys(REVIEWS, new ServiceKey("shop", "ratings"));
    assertThat(state.endpoints(REVIEWS).all())
        .extracting(Endpoint::address)
        .containsExactly("10.0.0.1", "10.0.0.2");
  }

  @Test
  void followsAddedEditedAndDeletedFiles() throws IOException {
    write("reviews.yaml", reviewsService(9080));
    start();

    write("slices.yaml", reviewsSlice("10.0.0.1"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).size() == 1);

    write("slices.yaml", reviewsSlice("10.0.0.1", "10.0.0.2", "10.0.0.3"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).size() == 3);

    write("reviews.yaml", reviewsService(9090));
    await()
        .atMost(WAIT)
        .until(() -> registry.current().service(REVIEWS).orElseThrow().port(9090).isPresent());

    Files.delete(dir.resolve("slices.yaml"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).isEmpty());
    Files.delete(dir.resolve("reviews.yaml"));
    await().atMost(WAIT).until(() -> registry.current().service(REVIEWS).isEmpty());
  }

  @Test
  void aFileRenamedIntoPlaceIsAppliedAndItsHiddenTemporaryIsNot() throws IOException {
    write("reviews.yaml", reviewsService(9080) + "---\n" + reviewsSlice("10.0.0.1"));
    start();

    // As editors and tools save: a temporary file beside it, then renamed over it.
    write(".reviews.yaml.tmp", reviewsService(9080) + "---\n" + reviewsSlice("10.0.0.2"));
    Files.move(
        dir.resolve(".reviews.yaml.tmp"),
        dir.resolve("reviews.yaml"),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);

    await().atMost(WAIT).until(() -> addresses().equals(List.of("10.0.0.2")));
    assertThat(registry.current().rejections()).isEmpty();
  }

  @Test
  void aConfigMapMountsSymlinkSwapIsFollowed() throws IOException {
    // A ConfigMap volume: the files are symlinks through ..data to a timestamped directory.
    write("..2026_12_01_00_00_00.1/reviews.yaml", reviewsService(9080));
    Files.createSymbolicLink(dir.resolve("..data"), Path.of("..2026_12_01_00_00_00.1"));
    Files.createSymbolicLink(dir.resolve("reviews.yaml"), Path.of("..data/reviews.yaml"));
    start();
    assertThat(registry.current().service(REVIEWS).orElseThrow().port(9080)).isPresent();

    // The kubelet's update: a new directory, a new ..data symlink renamed over the old one, and
    // the old directory removed. The top-level symlink itself never changes.
    write("..2026_12_01_00_01_00.2/reviews.yaml", reviewsService(9090));
    Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..2026_12_01_00_01_00.2"));
    Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    Files.delete(dir.resolve("..2026_12_01_00_00_00.1/reviews.yaml"));
    Files.delete(dir.resolve("..2026_12_01_00_00_00.1"));

    await()
        .atMost(WAIT)
        .until(() -> registry.current().service(REVIEWS).orElseThrow().port(9090).isPresent());
  }

  @Test
  void aNewSubdirectorysFilesAreReadAndARemovedOnesObjectsDeleted() throws IOException {
    write("reviews.yaml", reviewsService(9080));
    start();

    write("nested/deeper/slices.yaml", reviewsSlice("10.0.0.1"));
    await().atMost(WAIT).until(() -> addresses().equals(List.of("10.0.0.1")));
    write("nested/deeper/slices.yaml", reviewsSlice("10.0.0.2"));
    await().atMost(WAIT).until(() -> addresses().equals(List.of("10.0.0.2")));

    // Renamed to a hidden name, which the source does not read: its files are gone.
    Files.move(dir.resolve("nested"), dir.resolve(".nested-old"));
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).isEmpty());

    // A new directory at the old path is watched, not mistaken for the renamed one.
    write("nested/slices.yaml", reviewsSlice("10.0.0.3"));
    await().atMost(WAIT).until(() -> addresses().equals(List.of("10.0.0.3")));
    write("nested/slices.yaml", reviewsSlice("10.0.0.4"));
    await().atMost(WAIT).until(() -> addresses().equals(List.of("10.0.0.4")));
  }

  @Test
  void aFileWrittenContinuouslyIsAppliedWhileTheWritesGoOn() throws Exception {
    write("reviews.yaml", reviewsService(9080));
    start();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<String> lastWritten = new AtomicReference<>();
    Thread writer =
        new Thread(
            () -> {
              // Every millisecond, far more often than the quiet period: a rescan that waited
              // for quiet would never come.
              for (int i = 1; !stop.get(); i++) {
                String address = "10.0." + (i >> 8 & 255) + "." + (i & 255);
                try {
                  Path temporary = dir.resolve(".slices.yaml.tmp");
                  Files.writeString(temporary, reviewsSlice(address));
                  Files.move(
                      temporary,
                      dir.resolve("slices.yaml"),
                      StandardCopyOption.ATOMIC_MOVE,
                      StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
                lastWritten.set(address);
                LockSupport.parkNanos(1_000_000);
              }
            });
    writer.start();
    try {
      await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).size() == 1);
      assertThat(writer.isAlive()).isTrue();
    } finally {
      stop.set(true);
      writer.join();
    }
    await().atMost(WAIT).until(() -> addresses().equals(List.of(lastWritten.get())));
  }

  private List<String> addresses() {
    return registry.current().endpoints(REVIEWS).all().stream().map(Endpoint::address).toList();
  }

  @Test
  void removingAnObjectFromAFileDeletesIt() throws IOException {
    write("all.yaml", reviewsService(9080) + "---\n" + service("ratings", 9080));
    start();
    assertThat(registry.current().services()).hasSize(2);

    write("all.yaml", reviewsService(9080));

    await().atMost(WAIT).until(() -> registry.current().services().size() == 1);
    assertThat(registry.current().service(REVIEWS)).isPresent();
  }

  @Test
  void syntaxErrorIsReportedAndTheFilesLastGoodObjectsKeepServing() throws IOException {
    write("reviews.yaml", reviewsService(9080) + "---\n" + reviewsSlice("10.0.0.1"));
    start();

    write("reviews.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: reviews\n  bad: [");

    Rejection rejection = awaitRejection("file");
    assertThat(rejection.origin()).endsWith("reviews.yaml");
    assertThat(rejection.errors().get(0).reason()).startsWith("YAML syntax error at line");
    assertThat(registry.current().service(REVIEWS)).isPresent();
    assertThat(registry.current().endpoints(REVIEWS).size()).isEqualTo(1);

    write("reviews.yaml", reviewsService(9080));
    await().atMost(WAIT).until(() -> registry.current().rejections().isEmpty());
    await().atMost(WAIT).until(() -> registry.current().endpoints(REVIEWS).isEmpty());
  }

  @Test
  void unknownKindIsReportedWithTheKind() throws IOException {
    write(
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews, namespace: shop}\n");
    start();

    Rejection rejection = awaitRejection("document 1 (line 1)");
    assertThat(rejection.errors().get(0).path()).isEqualTo("kind");
    assertThat(rejection.errors().get(0).reason())
        .startsWith("apps/v1 Deployment is not a kind Weft reads");
  }

  @Test
  void invalidObjectsAreRejectedWithFieldAndReason() throws IOException {
    write(
        "bad.yaml",
        """
        apiVersion: v1
        kind: Service
        metadata: {name: dup, namespace: shop}
        spec:
          ports:
            - {name: http, port: 80}
            - {name: http, port: 81}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: unlabelled, namespace: shop}
        addressType: IPv4
        ports: [{name: http, port: 80}]
        endpoints: [{addresses: ["10.0.0.1"]}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: not-an-ip
          namespace: shop
          labels: {kubernetes.io/service-name: reviews}
        addressType: IPv4
        ports: [{name: http, port: 80}]
        endpoints: [{addresses: ["reviews.shop.svc"]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: wrong-type, namespace: shop}
        spec:
          ports:
            - {name: http, port: eighty}
        """);
    start();

    assertThat(errorsOf("Service shop/dup"))
        .containsExactly(
            "spec.ports[1].name: duplicate port name \"http\" (also spec.ports[0].name)");
    assertThat(errorsOf("EndpointSlice shop/unlabelled"))
        .containsExactly(
            "metadata.labels[kubernetes.io/service-name]: required: it names the Service this"
                + " slice belongs to");
    assertThat(errorsOf("EndpointSlice shop/not-an-ip"))
        .containsExactly("endpoints[0].addresses[0]: \"reviews.shop.svc\" is not an IP address");
    assertThat(errorsOf("Service shop/wrong-type")).hasSize(1);
    assertThat(errorsOf("Service shop/wrong-type").get(0)).startsWith("spec.ports[0].port: ");
    assertThat(registry.current().services()).isEmpty();
    assertThat(registry.current().endpoints()).isEmpty();
  }

  @Test
  void invalidEditKeepsTheLastGoodObject() throws IOException {
    write("reviews.yaml", reviewsService(9080));
    start();

    write("reviews.yaml", reviewsService(9080) + "    - {name: http, port: 9443}\n");

    awaitRejection("Service shop/reviews");
    assertThat(registry.current().service(REVIEWS).orElseThrow().ports())
        .extracting(ServicePort::port)
        .containsExactly(9080);
  }

  @Test
  void objectDefinedInTwoFilesIsTakenFromTheFirst() throws IOException {
    write("a.yaml", reviewsService(9080));
    write("b.yaml", reviewsService(9999));
    start();

    assertThat(registry.current().service(REVIEWS).orElseThrow().ports().get(0).port())
        .isEqualTo(9080);
    Rejection conflict = awaitRejection("Service shop/reviews");
    assertThat(conflict.origin()).endsWith("b.yaml");
    assertThat(conflict.errors().get(0).reason()).startsWith("already defined in ");

    Files.delete(dir.resolve("a.yaml"));

    await()
        .atMost(WAIT)
        .until(
            () ->
                registry
                    .current()
                    .service(REVIEWS)
                    .map(s -> s.ports().get(0).port() == 9999)
                    .orElse(false));
    await().atMost(WAIT).until(() -> registry.current().rejections().isEmpty());
  }

  @Test
  void anObjectThatUsedToThrowAtStartIsReportedAndTheRestApplies() throws IOException {
    // Each of these threw out of decoding, and so out of start().
    write(
        "bad.yaml",
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: shop}
        spec:
          ports:
            -
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: labelled, namespace: shop, labels: {app: b, version:v1}}
        spec:
          ports: [{name: http, port: 80, targetPort: "99999999999"}]
        """);
    write("ratings.yaml", service("ratings", 9080));

    start();

    assertThat(errorsOf("Service shop/reviews")).containsExactly("spec.ports[0]: required");
    assertThat(errorsOf("Service shop/labelled"))
        .containsExactly(
            "metadata.labels[version:v1]: must be a string, not null; did you mean \"version:"
                + " v1\"? In YAML a colon needs a space after it",
            "spec.ports[0].targetPort: 99999999999 is not a port number (1..65535)");
    assertThat(registry.current().services()).containsOnlyKeys(new ServiceKey("shop", "ratings"));
  }

  @Test
  void anObjectThatUsedToThrowWhileWatchingIsReportedAndLaterFilesStillApply() throws IOException {
    write("reviews.yaml", reviewsService(9080));
    start();

    // An empty list item threw out of decoding, which ended the watcher thread.
    write("reviews.yaml", reviewsService(9090) + "    -\n");

    assertThat(errorsOf("Service shop/reviews")).containsExactly("spec.ports[1]: required");
    assertThat(registry.current().service(REVIEWS).orElseThrow().ports())
        .extracting(ServicePort::port)
        .containsExactly(9080);

    write("ratings.yaml", service("ratings", 9080));
    await()
        .atMost(WAIT)
        .until(() -> registry.current().service(new ServiceKey("shop", "ratings")).isPresent());
  }

  @Test
  void anExceptionWhileApplyingAFileIsReportedAsThatFilesProblem() throws IOException {
    write("reviews.yaml", reviewsService(9080));
    // A source without a decoder throws on every object: a stand-in for a bug in decoding.
    RegistrySource sink = registry.registerSource("directory");
    source = new DirectorySource(dir, new RegistrySource(sink.name(), registry, null));

    source.start();

    await().atMost(WAIT).until(registry::isSynced);
    Rejection rejection = awaitRejection("file");
    assertThat(rejection.origin()).endsWith("reviews.yaml");
    assertThat(rejection.errors().get(0).reason())
        .startsWith("Weft failed to apply this file (java.lang.NullPointerException")
        .endsWith("); this is a bug, please report it");

    // The watcher goes on reading the directory.
    write(
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews, namespace: shop}\n");
    awaitRejection("document 1 (line 1)");
  }

  @Test
  void aFileWithYamlAnchorsIsRefusedWithThePositionAndTheLastGoodObjectsKeepServing()
      throws IOException {
    write("reviews.yaml", reviewsService(9080));
    start();

    write(
        "reviews.yaml",
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: shop, labels: &labels {app: reviews}}
        spec:
          selector: *labels
          ports:
            - {name: http, port: 9090}
        """);

    assertThat(errorsOf("file"))
        .containsExactly(
            "YAML anchor &labels at line 3, column 52: anchors (&), aliases (*) and merge keys (<<)"
                + " are not supported; write the values out in full");
    assertThat(registry.current().service(REVIEWS).orElseThrow().ports())
        .extracting(ServicePort::port)
        .containsExactly(9080);
  }

  @Test
  void missingDirectoryFailsWithItsName() {
    Path missing = dir.resolve("nope");
    DirectorySource absent = new DirectorySource(missing, registry.registerSource("directory"));
    try {
      absent.start();
      throw new AssertionError("expected a failure");
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).contains(missing.toAbsolutePath().toString());
    }
  }

  private void start() {
    source = new DirectorySource(dir, registry.registerSource("directory"));
    source.start();
    await().atMost(WAIT).until(registry::isSynced);
  }

  private Rejection awaitRejection(String object) {
    await().atMost(WAIT).until(() -> findRejection(object).isPresent());
    return findRejection(object).orElseThrow();
  }

  private List<String> errorsOf(String object) {
    return awaitRejection(object).errors().stream().map(Object::toString).toList();
  }

  private Optional<Rejection> findRejection(String object) {
    return registry.current().rejections().stream()
        .filter(r -> r.object().equals(object))
        .findFirst();
  }

  private void write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  private static String reviewsService(int port) {
    return service("reviews", port);
  }

  private static String service(String name, int port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: shop}
        spec:
          ports:
            - {name: http, port: %d}
        """
        .formatted(name, port);
  }

  private static String reviewsSlice(String... addresses) {
    StringBuilder endpoints = new StringBuilder();
    for (String address : addresses) {
      endpoints.append("  - addresses: [\"").append(address).append("\"]\n");
    }
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: reviews-abc
          namespace: shop
          labels: {kubernetes.io/service-name: reviews}
        addressType: IPv4
        ports: [{name: http, port: 9080}]
        endpoints:
        """
        + endpoints;
  }
}
