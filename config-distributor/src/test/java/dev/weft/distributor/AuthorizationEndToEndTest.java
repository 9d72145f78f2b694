package dev.weft.distributor;

import static dev.weft.distributor.XdsTestbed.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.AuthorizationPolicy;
import dev.weft.demo.Greeter;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AuthorizationPolicies enforced by a real xDS-enabled gRPC server (gRFC A41) on calls from real
 * grpc-xds clients, over mutual TLS with SVIDs a real Weft CA issued to workload agents: the caller
 * is who its certificate says.
 */
class AuthorizationEndToEndTest {

  private static final String TARGET = "greeter.demo.svc.cluster.local:50051";
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  @TempDir Path dir;

  private final XdsTestbed mesh =
      new XdsTestbed(builder -> builder.mutualTls(MutualTls.strict("cluster.local")));
  private TestCa ca;
  private ManagedChannel checkout;
  private ManagedChannel web;

  @BeforeEach
  void start() throws Exception {
    ca = new TestCa(dir, "demo/greeter", "demo/checkout", "demo/web");
    mesh.source().markSynced();
    mesh.secureXdsBackend(
        NAMESPACE,
        "greeter",
        "greeter",
        Optional.of(ca.credentials("demo/greeter", Duration.ofHours(1))));
    checkout = client("checkout");
    web = client("web");
  }

  @AfterEach
  void stop() throws Exception {
    mesh.close();
    ca.close();
  }

  @Test
  void withoutAPolicyEveryCallerIsServed() {
    assertThat(call(checkout)).isEqualTo("greeter");
    assertThat(call(web)).isEqualTo("greeter");
  }

  @Test
  void anAllowOfOnePrincipalServesItAndDeniesTheOthers() {
    apply(
        "only-checkout",
        """
        rules:
        - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
        """);

    await().atMost(Duration.ofSeconds(10)).until(() -> outcome(web).equals("PERMISSION_DENIED"));
    assertThat(outcome(checkout)).isEqualTo("greeter");
  }

  @Test
  void aPathRuleAllowsOneMethodAndDeniesAnother() {
    apply(
        "hello-only",
        """
        rules:
        - to: [{paths: [/weft.demo.Greeter/SayHello], methods: [POST]}]
        """);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> XdsTestbed.outcome(web, Greeter.SAY_GOODBYE, "x").equals("PERMISSION_DENIED"));
    assertThat(XdsTestbed.outcome(web, Greeter.SAY_HELLO, "x")).isEqualTo("greeter");
  }

  @Test
  void aDenyOfANamespaceWinsOverAnAllowOfEveryone() {
    apply("everyone", "rules: [{}]\n");
    apply(
        "not-demo",
        """
        action: DENY
        rules:
        - from: [{namespaces: [demo]}]
        """);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> outcome(checkout).equals("PERMISSION_DENIED"));
    assertThat(outcome(web)).isEqualTo("PERMISSION_DENIED");
  }

  @Test
  void anEditReachesTheServerWithinASecond() {
    apply(
        "callers",
        """
        rules:
        - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> outcome(web).equals("PERMISSION_DENIED"));

    long edited = System.nanoTime();
    apply(
        "callers",
        """
        rules:
        - from: [{principals: ["cluster.local/ns/demo/sa/checkout", "*/sa/web"]}]
        """);
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> outcome(web).equals("greeter"));
    Duration took = Duration.ofNanos(System.nanoTime() - edited);
    System.out.printf("an AuthorizationPolicy edit took effect after %d ms%n", took.toMillis());

    assertThat(took).isLessThan(Duration.ofSeconds(1));
  }

  @Test
  void anInvalidEditIsRefusedAndTheLastGoodPolicyKeepsServing() {
    apply(
        "callers",
        """
        rules:
        - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> outcome(web).equals("PERMISSION_DENIED"));

    apply(
        "callers",
        """
        rules:
        - from: [{principals: ["cluster.local/ns/*/sa/web"]}]
        """);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                mesh.registry.current().rejections().stream()
                    .anyMatch(r -> r.errors().toString().contains("from[0].principals[0]")));
    assertThat(outcome(web)).isEqualTo("PERMISSION_DENIED");
    assertThat(outcome(checkout)).isEqualTo("greeter");
  }

  @Test
  void deletingThePolicyServesEveryoneAgain() {
    AuthorizationPolicy policy =
        apply(
            "only-checkout",
            """
            rules:
            - from: [{principals: [cluster.local/ns/demo/sa/checkout]}]
            """);
    await().atMost(Duration.ofSeconds(10)).until(() -> outcome(web).equals("PERMISSION_DENIED"));

    mesh.source().delete(policy);

    await().atMost(Duration.ofSeconds(10)).until(() -> outcome(web).equals("greeter"));
  }

  private AuthorizationPolicy apply(String name, String spec) {
    AuthorizationPolicy policy =
        YAML.unmarshal(
            """
            apiVersion: mesh.weft.dev/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: %s, namespace: demo}
            spec:
              targetRefs: [{group: "", kind: Service, name: greeter}]
            %s"""
                .formatted(name, spec.indent(2)),
            AuthorizationPolicy.class);
    mesh.source().upsert(policy);
    return policy;
  }

  private ManagedChannel client(String account) throws IOException {
    return mesh.secureClient(
        NAMESPACE,
        account,
        Optional.of(ca.credentials(NAMESPACE + "/" + account, Duration.ofHours(1))),
        TARGET);
  }

  private static String call(ManagedChannel channel) {
    return XdsTestbed.call(channel, Duration.ofSeconds(10));
  }

  private static String outcome(ManagedChannel channel) {
    return XdsTestbed.outcome(channel, Greeter.SAY_HELLO, "x");
  }
}
