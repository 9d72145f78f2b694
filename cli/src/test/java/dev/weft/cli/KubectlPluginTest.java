package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code kubectl} binary finds {@code scripts/kubectl-weft} on PATH and runs {@code
 * kubectl weft shift} and {@code rollback} against Fabric8's mock API server: the launcher, the
 * jar's entry point and the kubeconfig handling as a user gets them. The jar is a thin one whose
 * manifest names this module's classpath.
 */
@EnableKubernetesMockClient(crud = true)
class KubectlPluginTest {

  static KubernetesMockServer server;
  static KubernetesClient client;

  @TempDir Path dir;
  private Path kubeconfig;
  private Path jar;

  /** What one run printed, and its exit code. */
  record Run(int exitCode, String out, String err) {}

  @BeforeEach
  void prepare() throws IOException {
    assumeTrue(onPath("kubectl"), "kubectl is not installed");
    kubeconfig = ShiftCommandTest.kubeconfig(dir, client, "demo");
    jar = thinJar();
    client.resources(HTTPRoute.class).inNamespace("demo").delete();
    client
        .resources(HTTPRoute.class)
        .inNamespace("demo")
        .resource(
            new HTTPRouteBuilder()
                .withNewMetadata()
                .withName("greeter-split")
                .endMetadata()
                .withNewSpec()
                .addNewParentRef()
                .withKind("Service")
                .withGroup("")
                .withName("greeter")
                .endParentRef()
                .addNewRule()
                .addNewBackendRef()
                .withName("greeter-v1")
                .withPort(50051)
                .withWeight(100)
                .endBackendRef()
                .addNewBackendRef()
                .withName("greeter-v2")
                .withPort(50051)
                .withWeight(0)
                .endBackendRef()
                .endRule()
                .endSpec()
                .build())
        .create();
  }

  @Test
  void kubectlWeftShiftsAndRollsBackARoute() throws Exception {
    Run shift =
        kubectl("weft", "shift", "greeter-split", "greeter-v2=50", "greeter-v1=50", "--no-wait");

    assertThat(shift.exitCode()).as(shift.err()).isZero();
    assertThat(shift.out())
        .isEqualTo(
            "httproute demo/greeter-split rule #0: greeter-v1 100 -> 50, greeter-v2 0 -> 50\n");
    assertThat(weights()).containsExactly(50, 50);

    Run refused = kubectl("weft", "shift", "greeter-split", "greeter-v3=1");
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err())
        .isEqualTo(
            "weft shift: greeter-v3: not a backend of httproute demo/greeter-split rule #0 (its"
                + " backends: greeter-v1, greeter-v2)\n");

    Run rollback = kubectl("weft", "-n", "demo", "rollback", "greeter-split", "--no-wait");
    assertThat(rollback.exitCode()).as(rollback.err()).isZero();
    assertThat(weights()).containsExactly(100, 0);

    Run help = kubectl("weft");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out()).startsWith("Usage: weft ");
  }

  private static List<Integer> weights() {
    return client
        .resources(HTTPRoute.class)
        .inNamespace("demo")
        .withName("greeter-split")
        .get()
        .getSpec()
        .getRules()
        .get(0)
        .getBackendRefs()
        .stream()
        .map(HTTPBackendRef::getWeight)
        .toList();
  }

  private Run kubectl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("kubectl"));
    command.addAll(List.of(args));
    if (args.length > 1) {
      command.add("--kubeconfig=" + kubeconfig);
    }
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> env = builder.environment();
    Path scripts = Path.of("..", "scripts").toAbsolutePath().normalize();
    env.put("PATH", scripts + File.pathSeparator + env.get("PATH"));
    env.put("WEFT_JAR", jar.toString());
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.remove("KUBECONFIG");
    env.remove("WEFT_TOKEN");
    builder.redirectOutput(dir.resolve("out").toFile());
    builder.redirectError(dir.resolve("err").toFile());
    Process process = builder.start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl weft finished").isTrue();
    return new Run(
        process.exitValue(),
        Files.readString(dir.resolve("out")),
        Files.readString(dir.resolve("err")));
  }

  /** A jar whose manifest runs the CLI on this test's classpath. */
  private Path thinJar() throws IOException {
    String classpath = System.getProperty("java.class.path");
    StringJoiner entries = new StringJoiner(" ");
    for (String entry : classpath.split(File.pathSeparator)) {
      if (!entry.isEmpty()) {
        entries.add(Path.of(entry).toAbsolutePath().toUri().toString());
      }
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, WeftCli.class.getName());
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, entries.toString());
    Path jarFile = dir.resolve("weft-cli-test.jar");
    try (OutputStream out = Files.newOutputStream(jarFile);
        JarOutputStream jarOut = new JarOutputStream(out, manifest)) {
      jarOut.flush();
    }
    return jarFile;
  }

  private static boolean onPath(String program) {
    for (String directory : System.getenv("PATH").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(directory, program))) {
        return true;
      }
    }
    return false;
  }
}
