package dev.weft.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRuleBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteStatusBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code weft shift} and {@code weft rollback} against Fabric8's mock API server in CRUD mode,
 * reached through a kubeconfig file as a user's kubectl would reach a cluster.
 */
@EnableKubernetesMockClient(crud = true)
class ShiftCommandTest {

  private static final String NS = "demo";

  static KubernetesMockServer server;
  static KubernetesClient client;

  @TempDir Path dir;
  private Path kubeconfig;

  /** What one run of the CLI printed, and its exit code. */
  record Run(int exitCode, String out, String err) {}

  @BeforeEach
  void writeKubeconfig() throws Exception {
    kubeconfig = kubeconfig(dir, client, NS);
    client.resources(HTTPRoute.class).inNamespace(NS).delete();
    client.resources(GRPCRoute.class).inNamespace(NS).delete();
  }

  @Test
  void shiftWritesTheWeightsAndRollbackRestoresThem() {
    create(route("greeter-split", rule(null, "greeter-v1", 100, "greeter-v2", 0)));

    Run shift = weft("shift", "greeter-split", "greeter-v2=50", "greeter-v1=50", "--no-wait");

    assertThat(shift.exitCode()).as(shift.err()).isZero();
    assertThat(shift.out())
        .isEqualTo(
            "httproute demo/greeter-split rule #0: greeter-v1 100 -> 50, greeter-v2 0 -> 50\n");
    assertThat(weights("greeter-split", 0))
        .containsExactly(entry("greeter-v1", 50), entry("greeter-v2", 50));
    assertThat(annotation("greeter-split"))
        .isEqualTo("{\"rule\":\"rule #0\",\"weights\":{\"greeter-v1\":100,\"greeter-v2\":0}}");

    Run rollback = weft("rollback", "greeter-split", "--no-wait");

    assertThat(rollback.exitCode()).as(rollback.err()).isZero();
    assertThat(rollback.out())
        .isEqualTo(
            "httproute demo/greeter-split rule #0: greeter-v1 50 -> 100, greeter-v2 50 -> 0\n");
    assertThat(weights("greeter-split", 0))
        .containsExactly(entry("greeter-v1", 100), entry("greeter-v2", 0));
    // The rollback remembers what it undid: a second one redoes the shift.
    assertThat(annotation("greeter-split"))
        .isEqualTo("{\"rule\":\"rule #0\",\"weights\":{\"greeter-v1\":50,\"greeter-v2\":50}}");
    assertThat(weft("rollback", "greeter-split", "--no-wait").exitCode()).isZero();
    assertThat(weights("greeter-split", 0))
        .containsExactly(entry("greeter-v1", 50), entry("greeter-v2", 50));
  }

  @Test
  void aGrpcRouteIsShiftedAndRolledBackAndABareNameOfBothKindsIsRefused() {
    GRPCRoute grpc =
        new GRPCRouteBuilder()
            .withNewMetadata()
            .withName("greeter-grpc")
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
            .withWeight(90)
            .endBackendRef()
            .addNewBackendRef()
            .withName("greeter-v2")
            .withPort(50051)
            .withWeight(10)
            .endBackendRef()
            .endRule()
            .endSpec()
            .build();
    client.resources(GRPCRoute.class).inNamespace(NS).resource(grpc).create();

    Run shift = weft("shift", "greeter-grpc", "greeter-v2=50", "greeter-v1=50", "--no-wait");

    assertThat(shift.exitCode()).as(shift.err()).isZero();
    assertThat(shift.out())
        .isEqualTo(
            "grpcroute demo/greeter-grpc rule #0: greeter-v1 90 -> 50, greeter-v2 10 -> 50\n");
    assertThat(grpcWeights("greeter-grpc")).containsExactly(50, 50);
    Run rollback = weft("rollback", "grpcroute/greeter-grpc", "--no-wait");
    assertThat(rollback.exitCode()).as(rollback.err()).isZero();
    assertThat(grpcWeights("greeter-grpc")).containsExactly(90, 10);

    create(route("greeter-grpc", rule(null, "greeter-v1", 1, "greeter-v2", 0)));
    assertRefused(
        weft("shift", "greeter-grpc", "greeter-v1=5"),
        "weft shift: both an HTTPRoute and a GRPCRoute are named demo/greeter-grpc; say which:"
            + " httproute/greeter-grpc or grpcroute/greeter-grpc");
    assertThat(weft("shift", "httproute/greeter-grpc", "greeter-v2=1", "--no-wait").exitCode())
        .isZero();
    assertThat(weights("greeter-grpc", 0))
        .containsExactly(entry("greeter-v1", 1), entry("greeter-v2", 1));
    assertThat(grpcWeights("greeter-grpc")).containsExactly(90, 10);
  }

  private static List<Integer> grpcWeights(String name) {
    return client
        .resources(GRPCRoute.class)
        .inNamespace(NS)
        .withName(name)
        .get()
        .getSpec()
        .getRules()
        .get(0)
        .getBackendRefs()
        .stream()
        .map(GRPCBackendRef::getWeight)
        .toList();
  }

  @Test
  void namedRuleOfASeveralRuleRouteIsShiftedWithRuleAndNamespaceFlags() {
    client
        .resources(HTTPRoute.class)
        .inNamespace("shop")
        .resource(
            route(
                "checkout",
                rule("stable", "checkout-v1", 1, "checkout-v2", 0),
                rule("beta", "checkout-v1", 0, "checkout-v2", 1)))
        .create();

    Run shift =
        weft("shift", "-n", "shop", "checkout", "--rule", "stable", "checkout-v2=1", "--no-wait");

    assertThat(shift.exitCode()).as(shift.err()).isZero();
    HTTPRoute written =
        client.resources(HTTPRoute.class).inNamespace("shop").withName("checkout").get();
    assertThat(written.getSpec().getRules().get(0).getBackendRefs())
        .extracting(HTTPBackendRef::getWeight)
        .containsExactly(1, 1);
    assertThat(written.getSpec().getRules().get(1).getBackendRefs())
        .extracting(HTTPBackendRef::getWeight)
        .containsExactly(0, 1);
  }

  @Test
  void nonsenseIsRefusedWithOneLineNamingTheFieldAndTheRouteIsLeftAlone() {
    create(route("greeter-split", rule(null, "greeter-v1", 100, "greeter-v2", 0)));
    create(
        route(
            "two-rules",
            rule("a", "greeter-v1", 1, "greeter-v2", 1),
            rule("b", "greeter-v1", 1, "greeter-v2", 1)));

    assertRefused(
        weft("shift", "greeter-split", "greeter-v3=10"),
        "weft shift: greeter-v3: not a backend of httproute demo/greeter-split rule #0 (its"
            + " backends: greeter-v1, greeter-v2)");
    assertRefused(
        weft("shift", "greeter-split", "greeter-v2=1000001"),
        "weft shift: greeter-v2=1000001: weight 1000001 is not from 0 to 1000000");
    assertRefused(
        weft("shift", "greeter-split", "greeter-v2=-1"),
        "weft shift: greeter-v2=-1: weight -1 is not from 0 to 1000000");
    assertRefused(
        weft("shift", "greeter-split", "greeter-v2=half"),
        "weft shift: greeter-v2=half: weight \"half\" is not an integer from 0 to 1000000");
    assertRefused(
        weft("shift", "greeter-split", "greeter-v1=0"),
        "weft shift: weights: every backend would get weight 0, which sends no traffic; give one a"
            + " positive weight");
    assertRefused(
        weft("shift", "two-rules", "greeter-v1=5"),
        "weft shift: --rule: httproute demo/two-rules has 2 rules; choose one with --rule NAME"
            + " (named: a, b)");
    assertRefused(
        weft("shift", "two-rules", "--rule", "c", "greeter-v1=5"),
        "weft shift: --rule: httproute demo/two-rules has no rule named c (named: a, b)");
    assertRefused(
        weft("shift", "nowhere", "greeter-v1=5"),
        "weft shift: no HTTPRoute or GRPCRoute demo/nowhere; kubectl get httproutes,grpcroutes -n"
            + " demo lists them (-n sets the namespace)");
    assertRefused(
        weft("shift", "grpcroute/greeter-split", "greeter-v1=5"),
        "weft shift: no GRPCRoute demo/greeter-split; kubectl get grpcroutes -n demo lists them"
            + " (-n sets the namespace)");
    assertRefused(
        weft("shift", "service/greeter-split", "greeter-v1=5"),
        "weft shift: service/greeter-split: weft edits the weights of httproute/NAME or"
            + " grpcroute/NAME, not service");
    assertRefused(
        weft("rollback", "greeter-split"),
        "weft rollback: httproute demo/greeter-split has no weft.dev/previous-weights annotation:"
            + " nothing to roll back to (weft shift writes it)");
    assertRefused(
        weft("shift", "greeter-split", "greeter-v1=1", "--timeout", "soon"),
        "weft shift: Invalid value for option '--timeout': \"soon\" is not a duration such as 30s,"
            + " 2m, 1h, 30d or 500ms (see weft shift --help)");

    assertThat(weights("greeter-split", 0))
        .containsExactly(entry("greeter-v1", 100), entry("greeter-v2", 0));
    assertThat(annotation("greeter-split")).isNull();
  }

  @Test
  void waitReturnsOnceWeftSaysTheNewGenerationIsProgrammed() throws Exception {
    create(route("greeter-split", rule(null, "greeter-v1", 100, "greeter-v2", 0)));
    long before = generation();

    CompletableFuture<Run> shift =
        CompletableFuture.supplyAsync(
            () -> weft("shift", "greeter-split", "greeter-v2=50", "--timeout", "30s"));
    // Weft's leader would write this once every proxy holds the new generation.
    await().atMost(Duration.ofSeconds(10)).until(() -> generation() > before);
    long after = generation();
    assertThat(after).isGreaterThan(before);
    assertThat(shift).isNotDone();
    writeProgrammed(after - 1, "True", "Programmed", "2 of 2 proxies hold it");
    assertThat(shift).isNotDone();
    writeProgrammed(after, "True", "Programmed", "2 of 2 proxies hold it");

    Run run = shift.get(10, TimeUnit.SECONDS);
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .endsWith("greeter-v1 100, greeter-v2 0 -> 50\nProgrammed: 2 of 2 proxies hold it\n");
  }

  @Test
  void waitTimesOutWithWhatWeftLastSaid() {
    create(route("greeter-split", rule(null, "greeter-v1", 100, "greeter-v2", 0)));
    writeProgrammed(
        generation() + 1,
        "False",
        "Rejected",
        "1 of 2 proxies hold it; shop-0.demo rejected it: bad weight");

    Run run = weft("shift", "greeter-split", "greeter-v2=50", "--timeout", "1s");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "weft shift: timed out after 1s waiting for httproute demo/greeter-split generation "
                + generation()
                + " to be Programmed (Rejected: 1 of 2 proxies hold it; shop-0.demo rejected it:"
                + " bad weight); weft proxy-status shows which proxies lag, --timeout waits"
                + " longer\n");
  }

  @Test
  void everyCommandHasHelp() {
    for (String command : List.of("shift", "rollback")) {
      Run help = weft(command, "--help");
      assertThat(help.exitCode()).isZero();
      assertThat(help.out()).contains("Usage: weft " + command).contains("--timeout");
    }
  }

  /** A kubeconfig file whose current context is the mock API server, with {@code namespace}. */
  static Path kubeconfig(Path dir, KubernetesClient client, String namespace) throws IOException {
    Path kubeconfig = dir.resolve("kubeconfig");
    Files.writeString(
        kubeconfig,
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster: {server: "%s", insecure-skip-tls-verify: true}
        users:
        - name: tester
          user: {token: secret}
        contexts:
        - name: mock
          context: {cluster: mock, user: tester, namespace: %s}
        current-context: mock
        """
            .formatted(client.getMasterUrl().toString(), namespace));
    return kubeconfig;
  }

  private Run weft(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--kubeconfig=" + kubeconfig);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        WeftCli.commandLine(
                Clock.systemUTC(), new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(all.toArray(new String[0]));
    return new Run(code, out.toString(), err.toString());
  }

  private static void assertRefused(Run run, String line) {
    assertThat(run.exitCode()).isNotZero();
    assertThat(run.err()).isEqualTo(line + "\n");
    assertThat(run.out()).isEmpty();
  }

  private static void create(HTTPRoute route) {
    client.resources(HTTPRoute.class).inNamespace(NS).resource(route).create();
  }

  private static long generation() {
    Long generation =
        client
            .resources(HTTPRoute.class)
            .inNamespace(NS)
            .withName("greeter-split")
            .get()
            .getMetadata()
            .getGeneration();
    return generation == null ? 0 : generation;
  }

  private static void writeProgrammed(long observed, String status, String reason, String message) {
    HTTPRoute route =
        client.resources(HTTPRoute.class).inNamespace(NS).withName("greeter-split").get();
    route.setStatus(
        new HTTPRouteStatusBuilder()
            .withParents(
                new RouteParentStatusBuilder()
                    .withControllerName("weft.dev/mesh-controller")
                    .withNewParentRef()
                    .withKind("Service")
                    .withGroup("")
                    .withName("greeter")
                    .endParentRef()
                    .withConditions(
                        new ConditionBuilder()
                            .withType("Programmed")
                            .withStatus(status)
                            .withReason(reason)
                            .withMessage(message)
                            .withObservedGeneration(observed)
                            .withLastTransitionTime("2026-01-01T00:00:00Z")
                            .build())
                    .build())
            .build());
    client.resource(route).updateStatus();
  }

  private static Map<String, Integer> weights(String name, int rule) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (HTTPBackendRef ref :
        client
            .resources(HTTPRoute.class)
            .inNamespace(NS)
            .withName(name)
            .get()
            .getSpec()
            .getRules()
            .get(rule)
            .getBackendRefs()) {
      weights.put(ref.getName(), ref.getWeight());
    }
    return weights;
  }

  private static Map.Entry<String, Integer> entry(String backend, int weight) {
    return Map.entry(backend, weight);
  }

  private static String annotation(String name) {
    Map<String, String> annotations =
        client
            .resources(HTTPRoute.class)
            .inNamespace(NS)
            .withName(name)
            .get()
            .getMetadata()
            .getAnnotations();
    return annotations == null ? null : annotations.get(RouteWeights.PREVIOUS_WEIGHTS);
  }

  private static HTTPRoute route(String name, HTTPRouteRule... rules) {
    return new HTTPRouteBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .addNewParentRef()
        .withKind("Service")
        .withGroup("")
        .withName("greeter")
        .endParentRef()
        .withRules(rules)
        .endSpec()
        .build();
  }

  private static HTTPRouteRule rule(String name, String a, int weightA, String b, int weightB) {
    return new HTTPRouteRuleBuilder()
        .withName(name)
        .addNewBackendRef()
        .withName(a)
        .withPort(50051)
        .withWeight(weightA)
        .endBackendRef()
        .addNewBackendRef()
        .withName(b)
        .withPort(50051)
        .withWeight(weightB)
        .endBackendRef()
        .build();
  }
}
