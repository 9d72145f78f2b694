package dev.weft.distributor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.weft.api.policy.MeshTLSPolicy;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS per namespace: with MeshTLSPolicies, one namespace's servers require mutual TLS while
 * another's serve plaintext, at once, and one grpc-xds client calls both the way each accepts.
 */
class MeshTlsEndToEndTest {

  private static final KubernetesSerialization YAML = new KubernetesSerialization();
  private static final String SECURE = "greeter.secure.svc.cluster.local:50051";
  private static final String OPEN = "greeter.open.svc.cluster.local:50051";

  @TempDir Path dir;

  /** The mesh's default is plaintext; the policies decide. */
  private final XdsTestbed mesh = new XdsTestbed();

  private final Set<String> secureCallers = ConcurrentHashMap.newKeySet();
  private final Set<String> openCallers = ConcurrentHashMap.newKeySet();
  private TestCa ca;

  @BeforeEach
  void start() throws Exception {
    ca = new TestCa(dir, "secure/greeter", "open/greeter", "demo/web");
    mesh.source().upsert(namespacePolicy("secure", "STRICT"));
    mesh.source().upsert(namespacePolicy("open", "DISABLE"));
    // An xDS-enabled server starts only once it has its Listener, sent once the registry synced.
    mesh.source().markSynced();
    mesh.secureXdsBackend(
        "secure",
        "greeter",
        "greeter",
        Optional.of(ca.credentials("secure/greeter", Duration.ofHours(1))),
        new CallerRecorder(secureCallers));
    mesh.secureXdsBackend(
        "open",
        "greeter",
        "greeter",
        Optional.of(ca.credentials("open/greeter", Duration.ofHours(1))),
        new CallerRecorder(openCallers));
  }

  @AfterEach
  void stop() {
    mesh.close();
    ca.close();
  }

  @Test
  void aStrictNamespaceAndADisabledOneServeTheSameClientEachTheirWay() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));
    ManagedChannel secure = mesh.secureClient("demo", "web", Optional.of(web), SECURE);
    ManagedChannel open = mesh.secureClient("demo", "web", Optional.of(web), OPEN);

    assertThat(XdsTestbed.call(secure, Duration.ofSeconds(10))).isEqualTo("greeter");
    assertThat(XdsTestbed.call(open, Duration.ofSeconds(10))).isEqualTo("greeter");

    assertThat(secureCallers).containsExactly("spiffe://cluster.local/ns/demo/sa/web");
    assertThat(openCallers).containsExactly("plaintext");
  }

  @Test
  void aClientWithoutACertificateReachesOnlyTheDisabledNamespace() {
    ManagedChannel secure = mesh.secureClient("demo", "web", Optional.empty(), SECURE);
    ManagedChannel open = mesh.secureClient("demo", "web", Optional.empty(), OPEN);

    assertThat(XdsTestbed.call(open, Duration.ofSeconds(10))).isEqualTo("greeter");
    assertThat(XdsTestbed.callOrStatus(secure, Duration.ofSeconds(10))).isEqualTo("UNAVAILABLE");
    assertThat(secureCallers).isEmpty();
  }

  @Test
  void aServicePolicyOverridesItsNamespaceAndAnEditSwitchesTheServer() throws Exception {
    Path web = ca.credentials("demo/web", Duration.ofHours(1));
    ManagedChannel open = mesh.secureClient("demo", "web", Optional.of(web), OPEN);
    assertThat(XdsTestbed.call(open, Duration.ofSeconds(10))).isEqualTo("greeter");

    mesh.source()
        .upsert(
            YAML.unmarshal(
                """
                apiVersion: mesh.weft.dev/v1alpha1
                kind: MeshTLSPolicy
                metadata: {name: greeter-strict, namespace: open}
                spec:
                  mode: STRICT
                  targetRefs: [{group: "", kind: Service, name: greeter}]
                """,
                MeshTLSPolicy.class));

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              open.enterIdle(); // a new connection, so a new handshake
              XdsTestbed.call(open, Duration.ofSeconds(10));
              assertThat(openCallers).contains("spiffe://cluster.local/ns/demo/sa/web");
            });
  }

  private static MeshTLSPolicy namespacePolicy(String namespace, String mode) {
    return YAML.unmarshal(
        """
        apiVersion: mesh.weft.dev/v1alpha1
        kind: MeshTLSPolicy
        metadata: {name: namespace-default, namespace: %s}
        spec: {mode: %s}
        """
            .formatted(namespace, mode),
        MeshTLSPolicy.class);
  }

  /** Records each caller's SPIFFE ID, or "plaintext" for a call without TLS. */
  private static final class CallerRecorder implements ServerInterceptor {
    private final Set<String> callers;

    CallerRecorder(Set<String> callers) {
      this.callers = callers;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      if (session == null) {
        callers.add("plaintext");
      } else {
        try {
          java.security.cert.X509Certificate peer =
              (java.security.cert.X509Certificate) session.getPeerCertificates()[0];
          for (java.util.List<?> san : peer.getSubjectAlternativeNames()) {
            if (Integer.valueOf(6).equals(san.get(0))) {
              callers.add((String) san.get(1));
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException("no peer certificate on a mutual TLS call", e);
        }
      }
      return Contexts.interceptCall(io.grpc.Context.current(), call, headers, next);
    }
  }
}
