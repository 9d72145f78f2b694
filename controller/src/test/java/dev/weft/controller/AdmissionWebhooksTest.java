package dev.weft.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.SvidKeyManager;
import dev.weft.ca.SvidWithKey;
import dev.weft.ca.WorkloadIdentity;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Weft's admission webhooks as the API server calls them (injection, then validation): an
 * AdmissionReview POSTed over HTTPS to a certificate of Weft's CA, which a client trusting only
 * that CA's root verifies for {@code localhost}; the JSON patch it answers, applied to the Pod as
 * the API server would apply it.
 */
class AdmissionWebhooksTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  @TempDir static Path caDir;
  private static CertificateAuthority ca;

  private final ConcurrentLinkedQueue<InjectionReviews.Outcome> outcomes =
      new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<ValidationReviews.Outcome> validations =
      new ConcurrentLinkedQueue<>();
  private AdmissionWebhooks webhook;
  private HttpClient client;

  @BeforeAll
  static void createCa() throws IOException {
    ca = CertificateAuthority.builder().store(KeyMaterialStore.directory(caDir)).build();
  }

  @BeforeEach
  void startWebhook() throws Exception {
    webhook = start(AdmissionWebhooks.DEFAULT_DEADLINE);
    client = HttpClient.newBuilder().sslContext(trusting(ca.trustBundle())).build();
  }

  private AdmissionWebhooks start(Duration deadline) throws IOException {
    return webhooks()
        .injection(new InjectionReviews(InjectionFixtures.injector(), SERIALIZATION, outcomes::add))
        .validation(new ValidationReviews(SERIALIZATION, validations::add))
        .deadline(deadline)
        .start();
  }

  private AdmissionWebhooks.Builder webhooks() {
    SvidWithKey own =
        ca.issueOwn(
            new WorkloadIdentity("weft-system", "weft"),
            List.of("weft.weft-system.svc", "localhost"));
    SvidKeyManager keys = SvidKeyManager.presenting(() -> own);
    return AdmissionWebhooks.builder(keys).address("127.0.0.1").port(0);
  }

  @AfterEach
  void stopWebhook() {
    webhook.close();
  }

  @Test
  void aDeploymentsPodGetsItsSidecarAsAJsonPatch() throws Exception {
    String review = InjectionFixtures.resource("/admission/pod-create.json");
    JsonNode original = JSON.readTree(review).get("request").get("object");

    HttpResponse<String> response = post(review);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
    JsonNode answer = JSON.readTree(response.body());
    assertThat(answer.get("apiVersion").asString()).isEqualTo("admission.k8s.io/v1");
    assertThat(answer.get("kind").asString()).isEqualTo("AdmissionReview");
    JsonNode result = answer.get("response");
    assertThat(result.get("uid").asString()).isEqualTo("0d6f1b6e-3c1a-4a57-9f0e-6b2f6a0c3b41");
    assertThat(result.get("allowed").asBoolean()).isTrue();
    assertThat(result.get("patchType").asString()).isEqualTo("JSONPatch");
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(result.get("patch").asString()));
    // Only additions: the Pod's own fields are never rewritten, moved or copied.
    assertThat(patch.valueStream().map(op -> op.get("op").asString())).containsOnly("add");

    JsonNode patched = JsonPatch.apply(patch, original);
    Pod pod = SERIALIZATION.convertValue(patched, Pod.class);

    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry("weft.dev/injected", "true")
        .containsEntry("prometheus.io/scrape", "true");
    assertThat(pod.getMetadata().getGenerateName()).isEqualTo("checkout-7d9c6b5f4-");
    // The Pod's own init container runs before traffic is redirected; the agent starts next and
    // keeps running beside Envoy and the application.
    assertThat(pod.getSpec().getInitContainers())
        .extracting(Container::getName)
        .containsExactly("migrate", "weft-init", "weft-agent");
    assertThat(pod.getSpec().getContainers())
        .extracting(Container::getName)
        .containsExactly("checkout", "weft-proxy");
    assertThat(pod.getSpec().getVolumes())
        .extracting(Volume::getName)
        .containsExactly(
            "kube-api-access-x7k2p",
            "config",
            "weft-token",
            "weft-ca",
            "weft-sds",
            "weft-certs",
            "weft-agent-tmp");
    Container init = pod.getSpec().getInitContainers().get(1);
    assertThat(init.getSecurityContext().getRunAsUser()).isZero();
    assertThat(init.getSecurityContext().getRunAsNonRoot()).isFalse();
    assertThat(init.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(init.getSecurityContext().getCapabilities().getAdd())
        .containsExactly("NET_ADMIN", "NET_RAW");
    assertThat(init.getArgs().get(0)).contains("-j REDIRECT --to-ports 15001");
    Container agent = pod.getSpec().getInitContainers().get(2);
    assertThat(agent.getRestartPolicy()).isEqualTo("Always");
    assertThat(agent.getArgs())
        .contains(
            "agent", "--sds-socket=/var/run/weft/sds/socket", "--ca=weft.weft-system.svc:15012");
    Container proxy = pod.getSpec().getContainers().get(1);
    assertThat(proxy.getSecurityContext().getRunAsUser()).isEqualTo(1337L);
    assertThat(proxy.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(proxy.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    // What the Pod had is as it was, byte for byte.
    for (String path :
        List.of(
            "/spec/containers/0",
            "/spec/initContainers/0",
            "/spec/volumes/0",
            "/spec/volumes/1",
            "/spec/securityContext",
            "/metadata/labels",
            "/metadata/managedFields")) {
      assertThat(patched.at(path)).as(path).isEqualTo(original.at(path));
    }
    JsonNode bootstrap = JSON.readTree(proxy.getArgs().get(1));
    JsonNode metadata = bootstrap.get("node").get("metadata");
    assertThat(metadata.get("NAMESPACE").asString()).isEqualTo("shop");
    assertThat(metadata.get("SERVICE_ACCOUNT").asString()).isEqualTo("checkout");
    assertThat(metadata.get("POD_NAME").asString()).isEqualTo("$(POD_NAME)");
    assertThat(metadata.get("LABELS").get("app").asString()).isEqualTo("checkout");
    assertThat(bootstrap.get("node").get("id").asString()).isEqualTo("$(POD_NAME).shop");
    assertThat(outcomes).containsExactly(InjectionReviews.Outcome.INJECTED);

    // A second review of the injected Pod (a reinvocation, a retry) changes nothing.
    ObjectNode again = (ObjectNode) JSON.readTree(review);
    ((ObjectNode) again.get("request")).put("uid", "second");
    ((ObjectNode) again.get("request")).set("object", JSON.readTree(SERIALIZATION.asJson(pod)));

    JsonNode second = JSON.readTree(post(again.toString()).body()).get("response");

    assertThat(second.get("uid").asString()).isEqualTo("second");
    assertThat(second.get("allowed").asBoolean()).isTrue();
    assertThat(second.has("patch")).isFalse();
    assertThat(second.has("warnings")).isFalse();
  }

  @Test
  void theCertificateIsWeftsOwnForItsDnsNamesAndOnlyItsCaVerifiesIt() throws Exception {
    HttpResponse<String> response = post(InjectionFixtures.resource("/admission/pod-create.json"));

    X509Certificate leaf =
        (X509Certificate) response.sslSession().orElseThrow().getPeerCertificates()[0];
    assertThat(leaf.getSubjectAlternativeNames())
        .contains(
            List.of(6, "spiffe://cluster.local/ns/weft-system/sa/weft"),
            List.of(2, "weft.weft-system.svc"),
            List.of(2, "localhost"));
    assertThat(leaf.getIssuerX500Principal())
        .isEqualTo(ca.trustBundle().get(0).getSubjectX500Principal());

    // A client that trusts another CA does not complete the handshake.
    CertificateAuthority other =
        CertificateAuthority.builder()
            .store(KeyMaterialStore.directory(caDir.resolve("other")))
            .build();
    HttpClient stranger = HttpClient.newBuilder().sslContext(trusting(other.trustBundle())).build();
    assertThatThrownBy(
            () ->
                stranger.send(
                    request("/inject").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(SSLHandshakeException.class);
  }

  @Test
  void aMalformedReviewIsRefusedWithOneLine() throws Exception {
    HttpResponse<String> notJson = post("{\"kind\": ");
    HttpResponse<String> noUid =
        post(
            """
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
             "request": {"kind": {"group": "", "version": "v1", "kind": "Pod"},
                         "operation": "CREATE", "namespace": "shop", "object": {}}}
            """);
    HttpResponse<String> v1beta1 =
        post(
            """
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
             "request": {"uid": "x"}}
            """);

    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(notJson.body()).startsWith("malformed AdmissionReview: not JSON: ").hasLineCount(1);
    assertThat(noUid.statusCode()).isEqualTo(400);
    assertThat(noUid.body()).isEqualTo("malformed AdmissionReview: request.uid is required\n");
    assertThat(v1beta1.statusCode()).isEqualTo(400);
    assertThat(v1beta1.body())
        .isEqualTo(
            "malformed AdmissionReview: apiVersion and kind must be admission.k8s.io/v1"
                + " AdmissionReview, not admission.k8s.io/v1beta1 AdmissionReview\n");
    assertThat(outcomes).containsOnly(InjectionReviews.Outcome.MALFORMED);
  }

  @Test
  void podsOnTheHostNetworkOrOptedOutAreAdmittedUnchanged() throws Exception {
    ObjectNode hostNetwork =
        (ObjectNode) JSON.readTree(InjectionFixtures.resource("/admission/pod-create.json"));
    ((ObjectNode) hostNetwork.at("/request/object/spec")).put("hostNetwork", true);
    ObjectNode optedOut =
        (ObjectNode) JSON.readTree(InjectionFixtures.resource("/admission/pod-create.json"));
    ((ObjectNode) optedOut.at("/request/object/metadata/annotations"))
        .put("weft.dev/inject", "false");

    for (ObjectNode review : List.of(hostNetwork, optedOut)) {
      HttpResponse<String> response = post(review.toString());

      assertThat(response.statusCode()).isEqualTo(200);
      JsonNode result = JSON.readTree(response.body()).get("response");
      assertThat(result.get("allowed").asBoolean()).isTrue();
      assertThat(result.has("patch")).isFalse();
      assertThat(result.has("patchType")).isFalse();
    }
    assertThat(outcomes).containsOnly(InjectionReviews.Outcome.SKIPPED).hasSize(2);
  }

  @Test
  void aPodThatCannotBeInjectedIsAdmittedWithAWarning() throws Exception {
    ObjectNode review =
        (ObjectNode) JSON.readTree(InjectionFixtures.resource("/admission/pod-create.json"));
    ((ObjectNode) review.at("/request/object/spec/containers/0/ports/1"))
        .put("containerPort", 15006);

    JsonNode result = JSON.readTree(post(review.toString()).body()).get("response");

    assertThat(result.get("allowed").asBoolean()).isTrue();
    assertThat(result.has("patch")).isFalse();
    assertThat(result.get("warnings").valueStream().map(JsonNode::asString))
        .containsExactly(
            "weft: no sidecar injected: spec.containers[0].ports[1].containerPort: 15006 is in"
                + " 15000-15099, the ports of Weft's sidecar");
    assertThat(outcomes).containsExactly(InjectionReviews.Outcome.NOT_INJECTED);
  }

  @Test
  void aPodWithAnInvalidEgressAnnotationIsInjectedWithAWarning() throws Exception {
    ObjectNode review =
        (ObjectNode) JSON.readTree(InjectionFixtures.resource("/admission/pod-create.json"));
    ((ObjectNode) review.at("/request/object/metadata/annotations"))
        .put("weft.dev/egress", "shop/*, Bank/ledger");

    JsonNode result = JSON.readTree(post(review.toString()).body()).get("response");

    assertThat(result.get("allowed").asBoolean()).isTrue();
    assertThat(result.get("patchType").asString()).isEqualTo("JSONPatch");
    assertThat(result.get("warnings").valueStream().map(JsonNode::asString))
        .containsExactly(
            "weft: weft.dev/egress ignored, the sidecar sees the whole mesh: \"Bank/ledger\":"
                + " \"Bank\" is not a namespace name, \"*\" (any) or \".\" (the proxy's own)");
    assertThat(outcomes).containsExactly(InjectionReviews.Outcome.INJECTED);
  }

  @Test
  void otherPathsMethodsAndOversizedBodiesAreRefused() throws Exception {
    HttpResponse<String> elsewhere =
        client.send(
            request("/mutate").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> get =
        client.send(request("/inject").GET().build(), HttpResponse.BodyHandlers.ofString());
    // Refused from its Content-Length, before a byte of the body is read.
    String oversized;
    try (SSLSocket socket =
        (SSLSocket)
            trusting(ca.trustBundle())
                .getSocketFactory()
                .createSocket("localhost", webhook.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(
              ("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
                      + (AdmissionWebhooks.MAX_REQUEST_BYTES + 1)
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      // The answer, up to its last line: the connection then closes, once the server has given
      // up on the body it announced.
      java.io.BufferedReader in =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      StringBuilder answer = new StringBuilder();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        answer.append(line).append('\n');
        if (line.startsWith("request body over")) {
          break;
        }
      }
      oversized = answer.toString();
    }

    assertThat(elsewhere.statusCode()).isEqualTo(404);
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("Allow")).contains("POST");
    assertThat(oversized)
        .startsWith("HTTP/1.1 413 ")
        .containsIgnoringCase("\nConnection: close\n")
        .endsWith("\n\nrequest body over 2097152 bytes: no Pod's AdmissionReview is that large\n");
  }

  @Test
  void clientsThatStopSendingLoseTheirConnectionsAtTheDeadline() throws Exception {
    webhook.close();
    webhook = start(Duration.ofSeconds(1));
    SSLContext tls = trusting(ca.trustBundle());
    List<SSLSocket> stalled = new java.util.ArrayList<>();
    try {
      // As many as there are threads: each holds one until its deadline.
      for (int i = 0; i < AdmissionWebhooks.THREADS; i++) {
        SSLSocket socket =
            (SSLSocket) tls.getSocketFactory().createSocket("localhost", webhook.port());
        stalled.add(socket);
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        out.write(
            ("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"apiVersion\":")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      long start = System.nanoTime();

      for (SSLSocket socket : stalled) {
        InputStream in = socket.getInputStream();
        int read;
        try {
          read = in.read();
        } catch (IOException closed) {
          read = -1;
        }
        assertThat(read).isEqualTo(-1);
      }

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    } finally {
      for (SSLSocket socket : stalled) {
        socket.close();
      }
    }
    // Their threads are free again.
    assertThat(
            client
                .send(request("/inject").GET().build(), HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(405);
  }

  @Test
  void anInvalidPolicyIsRefusedWithItsFieldsAndAValidRouteIsAllowed() throws Exception {
    JsonNode refused =
        validate(
            review(
                "CREATE",
                """
                {"apiVersion": "mesh.weft.dev/v1alpha1", "kind": "TrafficPolicy",
                 "metadata": {"name": "reviews", "namespace": "shop"},
                 "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": "reviews"}],
                          "loadBalancer": {"type": "Random"}}}"""));
    assertThat(refused.get("allowed").asBoolean()).isFalse();
    assertThat(refused.at("/status/code").asInt()).isEqualTo(422);
    assertThat(refused.at("/status/message").asString())
        .isEqualTo(
            "TrafficPolicy shop/reviews: spec.loadBalancer.type: \"Random\" is not one of"
                + " RoundRobin, LeastRequest, RingHash");

    JsonNode allowed =
        validate(
            review(
                "UPDATE",
                """
                {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": "reviews", "namespace": "shop"},
                 "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "reviews"}],
                          "rules": [{"backendRefs": [{"name": "reviews-v1", "port": 9080}]}]}}"""));
    assertThat(allowed.get("allowed").asBoolean()).isTrue();

    // Deleting is never refused, whatever the object says.
    assertThat(validate(review("DELETE", "null")).get("allowed").asBoolean()).isTrue();
    assertThat(validations)
        .containsExactly(
            ValidationReviews.Outcome.DENIED,
            ValidationReviews.Outcome.ALLOWED,
            ValidationReviews.Outcome.SKIPPED);
  }

  @Test
  void withInjectionOffThePortValidatesAndAnswers404ForPods() throws Exception {
    webhook.close();
    webhook = webhooks().validation(new ValidationReviews(SERIALIZATION, validations::add)).start();

    HttpResponse<String> pod = post(InjectionFixtures.resource("/admission/pod-create.json"));
    assertThat(pod.statusCode()).isEqualTo(404);
    assertThat(pod.body()).isEqualTo("not found: this port answers POST /validate (validation)\n");
    assertThat(outcomes).isEmpty();
    JsonNode refused =
        validate(
            review(
                "CREATE",
                """
                {"apiVersion": "mesh.weft.dev/v1alpha1", "kind": "FaultPolicy",
                 "metadata": {"name": "reviews", "namespace": "shop"},
                 "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": "reviews"}],
                          "abort": {"percentage": 150, "httpStatus": 503}}}"""));
    assertThat(refused.get("allowed").asBoolean()).isFalse();
    assertThat(refused.at("/status/message").asString()).contains("spec.abort.percentage");
  }

  @Test
  void aRouteOfAnotherControllerIsLeftAlone() throws Exception {
    JsonNode answer =
        validate(
            review(
                "CREATE",
                """
                {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": "web", "namespace": "shop"},
                 "spec": {"parentRefs": [{"name": "someone-elses-gateway"}],
                          "rules": [{"backendRefs": [{"name": "web", "port": 80,
                                                      "weight": 1000001}]}]}}"""));
    assertThat(answer.get("allowed").asBoolean()).isTrue();
  }

  /** An AdmissionReview of {@code operation} on {@code object} (JSON), as the API server sends. */
  private static String review(String operation, String object) throws Exception {
    JsonNode parsed = JSON.readTree(object);
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    request.put("uid", "5b1c2d3e-0000-4000-8000-000000000001").put("operation", operation);
    if (parsed.isObject()) {
      request
          .putObject("kind")
          .put("group", parsed.get("apiVersion").asString().replaceFirst("/?[^/]*$", ""))
          .put("version", "v1")
          .put("kind", parsed.get("kind").asString());
      request.put("name", parsed.at("/metadata/name").asString());
      request.put("namespace", parsed.at("/metadata/namespace").asString());
      request.set("object", parsed);
    }
    return JSON.writeValueAsString(review);
  }

  /** POSTs a review to the validating webhook; returns its response. */
  private JsonNode validate(String review) throws Exception {
    HttpResponse<String> answer =
        client.send(
            request(ValidationReviews.PATH)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(review))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode parsed = JSON.readTree(answer.body());
    assertThat(parsed.at("/response/uid").asString())
        .isEqualTo("5b1c2d3e-0000-4000-8000-000000000001");
    return parsed.get("response");
  }

  private HttpResponse<String> post(String body) throws Exception {
    return client.send(
        request("/inject?timeout=10s")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** To localhost, a DNS name of the certificate; on loopback only. */
  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("https://localhost:" + webhook.port() + path))
        .timeout(Duration.ofSeconds(10));
  }

  /** TLS that trusts these roots and nothing else (not the JDK's default roots). */
  static SSLContext trusting(List<X509Certificate> roots) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    for (int i = 0; i < roots.size(); i++) {
      store.setCertificateEntry("root-" + i, roots.get(i));
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
