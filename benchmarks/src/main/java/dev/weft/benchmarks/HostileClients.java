package dev.weft.benchmarks;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import dev.weft.ca.CaServer;
import dev.weft.ca.Svid;
import dev.weft.ca.WorkloadAgent;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Issue 12's hostile clients, against the running application: starts the controller's jar
 * standalone in a child JVM ({@link ControllerProcess}) and attacks its plaintext xDS port and its
 * CA from 127.0.0.1, one attack after the other. Around each it reads the child's heap after full
 * collections and its Prometheus scrape, and then asks the CA for a certificate with a good
 * bootstrap token, as a workload would: a control plane that survived an attack still issues.
 *
 * <p>Heap readings are chained: the reading after one attack is the reading before the next, so the
 * differences add up to what the whole run left behind.
 */
@Command(
    name = "hostile-clients",
    mixinStandardHelpOptions = true,
    description = {
      "Hostile clients (issue 12) against the running application: starts the controller jar"
          + " standalone (-Xmx512m, loopback ports of its own) and, from 127.0.0.1: (a) 200 ADS"
          + " streams x 1,000 made-up server-Listener names, then closed; (b) load reports of"
          + " 10,000 made-up clusters, and one of 10,001; (c) 100,000 requests of 512 B on one"
          + " stream whose responses are never read; (d) a request of 10,001 names, and a name of"
          + " 513 bytes; (e) a 5 MiB message; (f) 200 CSRs with bad tokens at once.",
      "For each: what was sent, what came back, the controller's heap after full GC before, while"
          + " the streams are open, and after they closed, its weft_ metric series, the refusal"
          + " counters that moved, and whether the CA still issues a certificate for a good token."
          + " About 30 s on 2 cores idle; needs a JDK (jcmd)."
    })
final class HostileClients implements Callable<Integer> {

  /** The controller's limits (weft.xds.limits.*), which the run leaves at their defaults. */
  private static final int MAX_NAMES_PER_REQUEST = 10_000;

  private static final int MAX_NAME_LENGTH = 512;
  private static final int MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

  private static final String LISTENER_TYPE =
      "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  /** How long any one answer may take before the run says it never came. */
  private static final Duration ANSWER_DEADLINE = Duration.ofSeconds(60);

  /** How long a workload retries a rate-limited CSR, as the agent's back-off would. */
  private static final Duration CA_RETRY = Duration.ofSeconds(5);

  /** Counters that move with every run (the CA check issues, streams are answered): not news. */
  private static final List<String> ROUTINE =
      List.of("weft_xds_pushes_total", "weft_ca_issued_total");

  private static final double MIB = 1024.0 * 1024.0;

  @Mixin ControllerJarOptions controllerJar;

  @Option(
      names = "--streams",
      defaultValue = "200",
      description = "(a) ADS streams, one connection each (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(
      names = "--names",
      defaultValue = "1000",
      description =
          "(a) Server-Listener names per stream, at most 10000 (default ${DEFAULT-VALUE}).")
  int names;

  @Option(
      names = "--reports",
      defaultValue = "3",
      description = "(b) Load reports on one stream (default ${DEFAULT-VALUE}).")
  int reports;

  @Option(
      names = "--clusters",
      defaultValue = "10000",
      description = "(b) Made-up clusters per report, at most 10000 (default ${DEFAULT-VALUE}).")
  int clusters;

  @Option(
      names = "--flood",
      defaultValue = "100000",
      description =
          "(c) Requests of 512 B on the stream that reads nothing (default ${DEFAULT-VALUE}).")
  int flood;

  @Option(
      names = "--csrs",
      defaultValue = "200",
      description = "(f) CSRs with bad tokens sent at once (default ${DEFAULT-VALUE}).")
  int csrs;

  @Mixin JsonFigures json;

  @Option(
      names = "--keep",
      description =
          "Keep the work directory (the controller's log and CA data); it is kept anyway"
              + " when the run fails.")
  boolean keep;

  @Spec CommandSpec spec;

  private ControllerProcess controller;
  private Path bundleFile;
  private String caSpiffeId;

  /** The agent's builder wants one for renewals; the single CSRs here never schedule any. */
  private ScheduledExecutorService agentScheduler;

  private Reading last;

  /** The controller between two attacks. */
  private record Reading(long heapBytes, Prometheus scrape) {}

  /** What an attack got back, in short and in full, and the heap while its streams were open. */
  private record Outcome(String gotBack, String detail, boolean asExpected, Long heapOpenBytes) {}

  @FunctionalInterface
  private interface Attack {
    Outcome run() throws Exception;
  }

  /** The figures of one run, as printed and written to JSON. */
  record Result(
      String machine,
      String controller,
      double baselineHeapMib,
      double finalHeapMib,
      boolean caIssuedAtStart,
      List<Row> attacks,
      double seconds) {}

  /**
   * One attack.
   *
   * @param heapOpenMib the heap while the attack's streams were still open (null: not measured)
   * @param counted the {@code weft_*_total} series that moved, with how much
   * @param caAfterwards whether a CSR with a good bootstrap token got its certificate afterwards
   */
  record Row(
      String attack,
      String sent,
      String expected,
      String gotBack,
      String detail,
      boolean asExpected,
      double heapBeforeMib,
      Double heapOpenMib,
      double heapAfterMib,
      int weftSeriesBefore,
      int weftSeriesAfter,
      List<String> counted,
      String caAfterwards) {}

  @Override
  public Integer call() throws Exception {
    String problem = problem();
    if (problem != null) {
      spec.commandLine().getErr().println(problem);
      return spec.exitCodeOnInvalidInput();
    }
    long start = System.nanoTime();
    Path workDir = Files.createTempDirectory("weft-hostile-clients");
    String describedJar = controllerJar.describe();
    System.err.println("starting " + describedJar + " in " + workDir);
    agentScheduler = Executors.newSingleThreadScheduledExecutor();
    List<Row> rows = new ArrayList<>();
    Result result;
    try (ControllerProcess started =
        ControllerProcess.start(
            controllerJar.jar,
            workDir,
            List.of("-Xmx" + controllerJar.maxHeap),
            Duration.ofMinutes(2))) {
      controller = started;
      ControllerProcess.CaInfo ca = controller.caInfo();
      caSpiffeId = ca.spiffeId();
      bundleFile = Files.writeString(workDir.resolve("ca.pem"), ca.trustBundlePem());
      boolean caAtStart = caAnswers().startsWith("yes");
      last = read();
      double baseline = mib(last.heapBytes());
      rows.add(
          attack(
              "a. ADS: many streams, made-up server Listeners",
              String.format(
                  Locale.ROOT,
                  "%,d streams (a connection each) x %,d names `weft/inbound?address=127.x.y.z:8080`,"
                      + " then closed",
                  streams,
                  names),
              "a response each; OK on close",
              false,
              this::manyStreams));
      rows.add(
          attack(
              "b1. LRS: made-up clusters",
              String.format(
                  Locale.ROOT,
                  "%,d report(s) x %,d made-up clusters (unknown Services, unknown ports of a"
                      + " known one), one stream",
                  reports,
                  clusters),
              "reports dropped; no new series",
              true,
              this::madeUpLoadReports));
      rows.add(
          attack(
              "b2. LRS: too many clusters",
              String.format(Locale.ROOT, "1 report of %,d clusters", MAX_NAMES_PER_REQUEST + 1),
              "RESOURCE_EXHAUSTED",
              true,
              () ->
                  refused(
                      loadReportStream(List.of(loadReport(reports, MAX_NAMES_PER_REQUEST + 1))),
                      Status.Code.RESOURCE_EXHAUSTED)));
      rows.add(
          attack(
              "c. ADS: flood, responses never read",
              String.format(
                  Locale.ROOT,
                  "%,d requests of ~512 B (%,.0f MiB) on one stream, names alternating; not one"
                      + " response read",
                  flood,
                  flood * 512 / MIB),
              "no refusal; the controller reads it all",
              true,
              this::flood));
      rows.add(
          attack(
              "d1. ADS: too many names",
              String.format(
                  Locale.ROOT, "1 request naming %,d Clusters", MAX_NAMES_PER_REQUEST + 1),
              "RESOURCE_EXHAUSTED",
              true,
              () ->
                  refused(
                      adsStream(clusterRequest("many", MAX_NAMES_PER_REQUEST + 1)),
                      Status.Code.RESOURCE_EXHAUSTED)));
      rows.add(
          attack(
              "d2. ADS: name too long",
              String.format(
                  Locale.ROOT, "1 request naming a Cluster of %d bytes", MAX_NAME_LENGTH + 1),
              "INVALID_ARGUMENT",
              true,
              () ->
                  refused(
                      adsStream(
                          request(
                              "long", CLUSTER_TYPE, List.of(nameOfLength(MAX_NAME_LENGTH + 1)))),
                      Status.Code.INVALID_ARGUMENT)));
      rows.add(
          attack(
              "e. ADS: message too large",
              String.format(
                  Locale.ROOT,
                  "1 request of %.1f MiB (a NACK's error detail)",
                  (MAX_MESSAGE_BYTES + MAX_MESSAGE_BYTES / 4) / MIB),
              "RESOURCE_EXHAUSTED",
              true,
              () -> refused(adsStream(hugeRequest()), Status.Code.RESOURCE_EXHAUSTED)));
      rows.add(
          attack(
              "f. CA: bad tokens in a burst",
              String.format(
                  Locale.ROOT, "%,d CSRs at once, each with its own made-up 128-bit token", csrs),
              String.format(
                  Locale.ROOT,
                  "at most %d + %s/s admitted (UNAUTHENTICATED), RESOURCE_EXHAUSTED beyond",
                  CaServer.DEFAULT_UNAUTHENTICATED_BURST,
                  (int) CaServer.DEFAULT_UNAUTHENTICATED_PER_SECOND),
              true,
              this::badTokenBurst));
      result =
          new Result(
              Machine.describe(),
              describedJar + ", -Xmx" + controllerJar.maxHeap,
              baseline,
              mib(last.heapBytes()),
              caAtStart,
              rows,
              Math.round((System.nanoTime() - start) / 1e7) / 100.0);
    } finally {
      agentScheduler.shutdownNow();
    }
    print(result);
    json.write(result);
    if (keep) {
      System.out.println("work directory kept: " + workDir);
    } else {
      deleteRecursively(workDir);
    }
    return 0;
  }

  /**
   * What is wrong with the options, in one line, or null. One line rather than picocli's usage
   * after it: the option's name and the bound say it all.
   */
  private String problem() {
    String jarProblem = controllerJar.problem();
    if (jarProblem != null) {
      return jarProblem;
    }
    for (Map.Entry<String, Integer> count :
        Map.of("--streams", streams, "--reports", reports, "--flood", flood, "--csrs", csrs)
            .entrySet()) {
      if (count.getValue() < 1) {
        return count.getKey() + " must be at least 1: " + count.getValue();
      }
    }
    // Within the limits: these attacks are about what is allowed; the refused ones go beyond.
    for (Map.Entry<String, Integer> count :
        Map.of("--names", names, "--clusters", clusters).entrySet()) {
      if (count.getValue() < 1 || count.getValue() > MAX_NAMES_PER_REQUEST) {
        return count.getKey()
            + " must be between 1 and "
            + MAX_NAMES_PER_REQUEST
            + " (weft.xds.limits.max-names-per-request): "
            + count.getValue();
      }
    }
    if ((long) streams * names > 1 << 24) {
      return "--streams x --names must be at most 16,777,216: one loopback address per name";
    }
    return null;
  }

  /**
   * Runs one attack between two readings of the controller, then checks that the CA still issues.
   * The "after" reading waits for the attack's ADS streams to be gone from the controller.
   */
  private Row attack(String label, String sent, String expected, boolean sameSeries, Attack attack)
      throws Exception {
    System.err.println("attack " + label);
    Reading before = last;
    Outcome outcome = attack.run();
    boolean streamsGone = controller.awaitNoProxies(Duration.ofSeconds(30));
    Reading after = read();
    String ca = caAnswers();
    last = after;
    int seriesBefore = before.scrape().count("weft_");
    int seriesAfter = after.scrape().count("weft_");
    String detail = outcome.detail() + (streamsGone ? "" : "; ADS streams still open 30 s later");
    return new Row(
        label,
        sent,
        expected,
        outcome.gotBack(),
        detail,
        outcome.asExpected()
            && streamsGone
            && ca.startsWith("yes")
            && (!sameSeries || seriesAfter == seriesBefore),
        mib(before.heapBytes()),
        outcome.heapOpenBytes() == null ? null : mib(outcome.heapOpenBytes()),
        mib(after.heapBytes()),
        seriesBefore,
        seriesAfter,
        counted(before.scrape(), after.scrape()),
        ca);
  }

  private Reading read() {
    long heap = controller.heapAfterGc();
    return new Reading(heap, Prometheus.parse(controller.prometheus()));
  }

  /** The {@code weft_*_total} series that moved between two scrapes, but the routine ones. */
  private static List<String> counted(Prometheus before, Prometheus after) {
    List<String> moved = new ArrayList<>();
    after
        .series()
        .forEach(
            (series, value) -> {
              String name =
                  series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
              double delta = value - before.get(series);
              if (name.startsWith("weft_")
                  && name.endsWith("_total")
                  && !ROUTINE.contains(name)
                  && delta != 0) {
                moved.add(String.format(Locale.ROOT, "%s %+,.0f", series, delta));
              }
            });
    return moved;
  }

  // ---- a: many streams ----

  private Outcome manyStreams() throws Exception {
    List<ManagedChannel> channels = new ArrayList<>();
    List<Answers<DiscoveryResponse>> answers = new ArrayList<>();
    List<StreamObserver<DiscoveryRequest>> requests = new ArrayList<>();
    try {
      for (int s = 0; s < streams; s++) {
        ManagedChannel channel = xdsChannel();
        channels.add(channel);
        Answers<DiscoveryResponse> streamAnswers = new Answers<>();
        StreamObserver<DiscoveryRequest> stream =
            AggregatedDiscoveryServiceGrpc.newStub(channel)
                .streamAggregatedResources(streamAnswers);
        stream.onNext(request("a-" + s, LISTENER_TYPE, serverListenerNames(s)));
        answers.add(streamAnswers);
        requests.add(stream);
      }
      long deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
      int answered = 0;
      long resources = 0;
      for (Answers<DiscoveryResponse> streamAnswers : answers) {
        DiscoveryResponse response = await(streamAnswers.first, deadline);
        if (response != null) {
          answered++;
          resources += response.getResourcesCount();
        }
      }
      long open = controller.heapAfterGc();
      requests.forEach(StreamObserver::onCompleted);
      deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
      Map<String, Integer> ends = new TreeMap<>();
      for (Answers<DiscoveryResponse> streamAnswers : answers) {
        Status end = await(streamAnswers.end, deadline);
        ends.merge(end == null ? "no end in time" : end.getCode().toString(), 1, Integer::sum);
      }
      String gotBack =
          String.format(
              Locale.ROOT,
              "%,d responses (%,d Listeners); on close %s",
              answered,
              resources,
              counts(ends));
      return new Outcome(
          gotBack, gotBack, answered == streams && ends.getOrDefault("OK", 0) == streams, open);
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

  /** Distinct server-Listener names of stream {@code stream}: loopback addresses, one each. */
  private List<String> serverListenerNames(int stream) {
    List<String> list = new ArrayList<>(names);
    for (int j = 0; j < names; j++) {
      int k = stream * names + j;
      list.add(
          String.format(
              Locale.ROOT,
              "weft/inbound?address=127.%d.%d.%d:8080",
              (k >>> 16) & 0xFF,
              (k >>> 8) & 0xFF,
              k & 0xFF));
    }
    return list;
  }

  // ---- b: load reports ----

  private Outcome madeUpLoadReports() throws Exception {
    List<LoadStatsRequest> sent = new ArrayList<>();
    for (int r = 0; r < reports; r++) {
      sent.add(loadReport(r, clusters));
    }
    StreamEnd<LoadStatsResponse> end = loadReportStream(sent);
    LoadStatsResponse response = end.first();
    String gotBack =
        response == null
            ? "no response"
            : "LoadStatsResponse (send_all_clusters "
                + response.getSendAllClusters()
                + ", every "
                + Durations.toString(response.getLoadReportingInterval())
                + "); on close "
                + (end.status() == null ? "no end in time" : end.status().getCode());
    return new Outcome(
        gotBack, gotBack, response != null && end.status() != null && end.status().isOk(), null);
  }

  /**
   * Sends {@code sent} on one LRS stream, then closes its side unless the controller ended the
   * stream first; returns the first response and how the stream ended.
   */
  private StreamEnd<LoadStatsResponse> loadReportStream(List<LoadStatsRequest> sent)
      throws Exception {
    ManagedChannel channel = xdsChannel();
    try {
      Answers<LoadStatsResponse> answers = new Answers<>();
      StreamObserver<LoadStatsRequest> stream =
          LoadReportingServiceGrpc.newStub(channel).streamLoadStats(answers);
      sent.forEach(stream::onNext);
      long deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
      LoadStatsResponse first = await(answers.first, deadline);
      if (!answers.end.isDone()) {
        stream.onCompleted();
      }
      return new StreamEnd<>(first, await(answers.end, deadline));
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Report {@code report}: {@code count} clusters, each with a request of every outcome, which
   * would each make a series if the controller took the names. Half name Services that do not
   * exist, half ports that a real Service lacks.
   */
  private static LoadStatsRequest loadReport(int report, int count) {
    LoadStatsRequest.Builder request = LoadStatsRequest.newBuilder().setNode(node("b-" + report));
    for (int i = 0; i < count; i++) {
      String cluster =
          i % 2 == 0
              ? "made-up-" + report + "-" + i + ".demo.svc.cluster.local:8080"
              // Ports 1 to 50,000: greeter serves 50051 only.
              : "greeter.demo.svc.cluster.local:" + (1 + (report * count + i) % 50_000);
      request.addClusterStats(
          ClusterStats.newBuilder()
              .setClusterName(cluster)
              .addUpstreamLocalityStats(
                  UpstreamLocalityStats.newBuilder()
                      .setTotalSuccessfulRequests(1)
                      .setTotalErrorRequests(1))
              .setTotalDroppedRequests(1));
    }
    return request.build();
  }

  // ---- c: flood ----

  private Outcome flood() throws Exception {
    ManagedChannel channel = xdsChannel();
    try {
      ClientCall<DiscoveryRequest, DiscoveryResponse> call =
          channel.newCall(
              AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod(),
              CallOptions.DEFAULT);
      CompletableFuture<Status> end = new CompletableFuture<>();
      AtomicLong lastReady = new AtomicLong();
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onReady() {
              lastReady.set(System.nanoTime());
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              end.complete(status);
            }
          },
          new Metadata());
      // Never call.request(n): not one response is read, so the controller's responses wait in
      // HTTP/2 flow control, and it must stop pushing. Two requests that alternate: each differs
      // from the one before, so the controller decodes and compares every one.
      DiscoveryRequest[] alternating = {floodRequest(0), floodRequest(1)};
      long start = System.nanoTime();
      call.sendMessage(alternating[0].toBuilder().setNode(node("c")).build());
      for (int i = 1; i < flood; i++) {
        // Ignores isReady(), as a hostile client would: gRPC queues what cannot go out yet here,
        // in this process, until the controller's flow control window opens.
        call.sendMessage(alternating[i % 2]);
      }
      long sent = System.nanoTime();
      long open = controller.heapAfterGc();
      // Ready again: what this side queued has drained, so the controller has read every request
      // but what its HTTP/2 windows hold.
      long deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
      while (!call.isReady() && !end.isDone() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      boolean drained = call.isReady();
      double seconds = (Math.max(lastReady.get(), sent) - start) / 1e9;
      Status early = end.getNow(null);
      call.cancel("the flood is over", null);
      if (early != null) {
        return new Outcome(
            early.getCode().toString(),
            "ended by the controller: " + early.getCode() + ": " + early.getDescription(),
            false,
            open);
      }
      String detail =
          drained
              ? String.format(
                  Locale.ROOT,
                  "no refusal; the controller read all %,d requests (but what its HTTP/2 window"
                      + " holds) in %.1f s; the client then cancelled",
                  flood,
                  seconds)
              : String.format(
                  Locale.ROOT,
                  "no refusal; the controller had not read the flood %.0f s later",
                  (System.nanoTime() - start) / 1e9);
      return new Outcome(
          drained
              ? String.format(Locale.ROOT, "no refusal; all read in %.1f s", seconds)
              : "no refusal; not all read",
          detail,
          drained,
          open);
    } finally {
      channel.shutdownNow();
    }
  }

  /** A Cluster request of about 512 bytes, names made up but of the canonical form. */
  private static DiscoveryRequest floodRequest(int variant) {
    DiscoveryRequest.Builder request =
        DiscoveryRequest.newBuilder().setTypeUrl(CLUSTER_TYPE).setVersionInfo("1");
    for (int i = 0; ; i++) {
      String name = "flood-" + variant + "-" + i + ".demo.svc.cluster.local:8080";
      // Each name costs its bytes plus a tag and a length byte.
      if (request.build().getSerializedSize() + name.length() + 2 > 512) {
        return request.build();
      }
      request.addResourceNames(name);
    }
  }

  // ---- d, e: refused requests ----

  private static DiscoveryRequest clusterRequest(String nodeId, int count) {
    List<String> list = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      list.add("service-" + i + ".demo.svc.cluster.local:8080");
    }
    return request(nodeId, CLUSTER_TYPE, list);
  }

  /** A canonical Cluster name of exactly {@code bytes} bytes. */
  private static String nameOfLength(int bytes) {
    String suffix = ".demo.svc.cluster.local:8080";
    return "x".repeat(bytes - suffix.length()) + suffix;
  }

  /** A NACK whose error detail makes it a quarter larger than the message size limit. */
  private static DiscoveryRequest hugeRequest() {
    return request("huge", CLUSTER_TYPE, List.of("greeter.demo.svc.cluster.local:50051"))
        .toBuilder()
        .setResponseNonce("1")
        .setErrorDetail(
            com.google.rpc.Status.newBuilder()
                .setCode(3)
                .setMessage("x".repeat(MAX_MESSAGE_BYTES + MAX_MESSAGE_BYTES / 4)))
        .build();
  }

  /** Sends one request on an ADS stream and returns how the stream ended. */
  private StreamEnd<DiscoveryResponse> adsStream(DiscoveryRequest sent) throws Exception {
    ManagedChannel channel = xdsChannel();
    try {
      Answers<DiscoveryResponse> answers = new Answers<>();
      StreamObserver<DiscoveryRequest> stream =
          AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(answers);
      stream.onNext(sent);
      long deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
      return new StreamEnd<>(await(answers.first, deadline), await(answers.end, deadline));
    } finally {
      channel.shutdownNow();
    }
  }

  private static Outcome refused(StreamEnd<?> end, Status.Code expected) {
    Status status = end.status();
    if (status == null) {
      return new Outcome(
          "no end in time",
          "the stream was still open " + ANSWER_DEADLINE.toSeconds() + " s later",
          false,
          null);
    }
    return new Outcome(
        status.getCode().toString(),
        status.getCode() + ": " + status.getDescription(),
        status.getCode() == expected,
        null);
  }

  // ---- f: the CA ----

  private Outcome badTokenBurst() throws Exception {
    CertificateRequest request =
        CertificateRequest.newBuilder().setCsrDer(ByteString.copyFrom(csr())).build();
    // A few calls per connection: the CA's port lets one connection carry only a few at once, and
    // the rest would wait for them instead of arriving together.
    int connections = (csrs + 3) / 4;
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      for (int i = 0; i < connections; i++) {
        channels.add(caChannel());
      }
      awaitConnected(channels);
      SecureRandom random = new SecureRandom();
      Metadata.Key<String> authorization =
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
      List<Future<CertificateResponse>> calls = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < csrs; i++) {
        byte[] token = new byte[16];
        random.nextBytes(token);
        Metadata headers = new Metadata();
        headers.put(authorization, "Bearer " + HexFormat.of().formatHex(token));
        Channel withToken =
            ClientInterceptors.intercept(
                channels.get(i % connections), MetadataUtils.newAttachHeadersInterceptor(headers));
        calls.add(
            ClientCalls.futureUnaryCall(
                withToken.newCall(
                    CertificateServiceGrpc.getCreateCertificateMethod(),
                    CallOptions.DEFAULT.withDeadlineAfter(
                        ANSWER_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)),
                request));
      }
      Map<String, Integer> codes = new TreeMap<>();
      Map<String, String> examples = new TreeMap<>();
      for (Future<CertificateResponse> call : calls) {
        Status status;
        try {
          call.get();
          status = Status.OK;
        } catch (ExecutionException e) {
          status = Status.fromThrowable(e.getCause());
        }
        String code = status.getCode().toString();
        codes.merge(code, 1, Integer::sum);
        examples.putIfAbsent(code, code + ": " + status.getDescription());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      int limited = codes.getOrDefault("RESOURCE_EXHAUSTED", 0);
      // The bucket's burst plus what it refilled while the burst lasted, and one for rounding.
      double admissible =
          CaServer.DEFAULT_UNAUTHENTICATED_BURST
              + CaServer.DEFAULT_UNAUTHENTICATED_PER_SECOND * seconds
              + 1;
      boolean asExpected =
          !codes.containsKey("OK")
              && (csrs <= admissible || limited > 0)
              && csrs - limited <= admissible;
      // At once, from the same address: the per-address limit holds back a good token too, until
      // the bucket refills.
      String goodToken = caAnswers();
      String gotBack = String.format(Locale.ROOT, "%s in %.2f s", counts(codes), seconds);
      return new Outcome(
          gotBack,
          String.join("; ", examples.values())
              + "; a good token from the same address right after the burst: "
              + goodToken,
          asExpected && goodToken.startsWith("yes"),
          null);
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

  /**
   * A TLS channel to the CA that trusts its bundle. The serving certificate names {@code localhost}
   * (weft.ca.dns-names), so that is the authority checked, while the connection goes to 127.0.0.1.
   */
  private ManagedChannel caChannel() throws IOException {
    ChannelCredentials tls =
        TlsChannelCredentials.newBuilder()
            .trustManager(new ByteArrayInputStream(Files.readAllBytes(bundleFile)))
            .build();
    return Grpc.newChannelBuilderForAddress("127.0.0.1", controller.ports().ca(), tls)
        .overrideAuthority("localhost")
        .build();
  }

  /** Connects every channel (TLS handshakes included) before the burst, which then is one. */
  private static void awaitConnected(List<ManagedChannel> channels) throws Exception {
    long deadline = System.nanoTime() + ANSWER_DEADLINE.toNanos();
    for (ManagedChannel channel : channels) {
      ConnectivityState state = channel.getState(true);
      while (state != ConnectivityState.READY) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("cannot connect to the CA: " + state);
        }
        CompletableFuture<Void> changed = new CompletableFuture<>();
        channel.notifyWhenStateChanged(state, () -> changed.complete(null));
        await(changed, deadline);
        state = channel.getState(true);
      }
    }
  }

  private static byte[] csr() throws Exception {
    BouncyCastleProvider provider = new BouncyCastleProvider();
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", provider);
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair keys = generator.generateKeyPair();
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("O=hostile"), keys.getPublic())
        .build(
            new JcaContentSignerBuilder("SHA256withECDSA")
                .setProvider(provider)
                .build(keys.getPrivate()))
        .getEncoded();
  }

  /**
   * Whether a workload with a good bootstrap token gets its first certificate, as the workload
   * agent asks for it: "yes", with how long it took when the first try was refused (the rate limit
   * is per address, and the attacks come from the same one), or "no" with the CA's answer.
   */
  private String caAnswers() throws IOException, InterruptedException {
    long start = System.nanoTime();
    String firstRefusal = null;
    while (true) {
      // A new agent each time: one that holds a certificate would renew with it, which is never
      // rate-limited, instead of presenting the token.
      Path out = Files.createTempDirectory(bundleFile.getParent(), "agent");
      try (WorkloadAgent agent =
          WorkloadAgent.builder()
              .target("127.0.0.1:" + controller.ports().ca())
              .serverSpiffeId(caSpiffeId)
              .bootstrapTrustBundle(bundleFile)
              .tokenFile(controller.tokenFile())
              .outputDirectory(out)
              .scheduler(agentScheduler)
              .build()) {
        Svid svid = agent.renewNow();
        long millis = (System.nanoTime() - start) / 1_000_000;
        String issued = "yes (" + svid.spiffeId() + ")";
        return firstRefusal == null
            ? issued
            : issued + " after " + millis + " ms; first try " + firstRefusal;
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        if (status.getCode() != Status.Code.RESOURCE_EXHAUSTED
            || System.nanoTime() - start > CA_RETRY.toNanos()) {
          return "no: " + status.getCode() + ": " + status.getDescription();
        }
        if (firstRefusal == null) {
          firstRefusal = status.getCode().toString();
        }
        Thread.sleep(100);
      } finally {
        deleteRecursively(out);
      }
    }
  }

  // ---- helpers ----

  private ManagedChannel xdsChannel() {
    return Grpc.newChannelBuilderForAddress(
            "127.0.0.1", controller.ports().xds(), InsecureChannelCredentials.create())
        // Responses of 1,000 Listeners are larger than gRPC's default 4 MiB allows a client.
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  private static Node node(String id) {
    return Node.newBuilder()
        .setId("hostile-" + id)
        .setCluster("hostile")
        .setMetadata(
            Struct.newBuilder()
                .putFields("NAMESPACE", Value.newBuilder().setStringValue("demo").build())
                .putFields("SERVICE_ACCOUNT", Value.newBuilder().setStringValue("hostile").build()))
        .build();
  }

  private static DiscoveryRequest request(String nodeId, String typeUrl, List<String> names) {
    return DiscoveryRequest.newBuilder()
        .setNode(node(nodeId))
        .setTypeUrl(typeUrl)
        .addAllResourceNames(names)
        .build();
  }

  /** What one stream got: its first response (null: none) and its end (null: not in time). */
  private record StreamEnd<R>(R first, Status status) {}

  /** Collects a stream's answers: its first response, and how it ended. */
  private static final class Answers<R> implements StreamObserver<R> {
    final CompletableFuture<R> first = new CompletableFuture<>();
    final CompletableFuture<Status> end = new CompletableFuture<>();

    @Override
    public void onNext(R value) {
      first.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      first.complete(null);
      end.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      first.complete(null);
      end.complete(Status.OK);
    }
  }

  /** The future's value, or null if it is not there by {@code deadlineNanos}. */
  private static <T> T await(CompletableFuture<T> future, long deadlineNanos)
      throws InterruptedException, ExecutionException {
    try {
      return future.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return null;
    }
  }

  private static String counts(Map<String, Integer> counts) {
    List<String> parts = new ArrayList<>();
    counts.forEach((what, count) -> parts.add(String.format(Locale.ROOT, "%s x%,d", what, count)));
    return String.join(", ", parts);
  }

  private static double mib(long bytes) {
    return Math.round(bytes / MIB * 10) / 10.0;
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }

  private static void print(Result result) {
    System.out.println("Hostile clients on " + result.machine());
    System.out.println("  controller: " + result.controller());
    System.out.printf(
        Locale.ROOT,
        "  heap after full GC at start %.1f MiB, at the end %.1f MiB; a good token got a"
            + " certificate at start: %s; run took %.0f s%n%n",
        result.baselineHeapMib(),
        result.finalHeapMib(),
        result.caIssuedAtStart() ? "yes" : "no",
        result.seconds());
    System.out.println(
        "| attack | sent | got back | heap MiB before / open / after | Δ heap MiB | `weft_`"
            + " series before → after | counted | CA issues afterwards | as expected |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (Row row : result.attacks()) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %s | %s | %.1f / %s / %.1f | %+.1f | %d → %d | %s | %s | %s |%n",
          row.attack(),
          row.sent(),
          row.gotBack(),
          row.heapBeforeMib(),
          row.heapOpenMib() == null ? "–" : String.format(Locale.ROOT, "%.1f", row.heapOpenMib()),
          row.heapAfterMib(),
          row.heapAfterMib() - row.heapBeforeMib(),
          row.weftSeriesBefore(),
          row.weftSeriesAfter(),
          row.counted().isEmpty() ? "–" : String.join("<br>", row.counted()),
          row.caAfterwards().startsWith("yes") ? "yes" : "**no**",
          row.asExpected() ? "yes" : "**no**");
    }
    System.out.println();
    for (Row row : result.attacks()) {
      System.out.println(
          row.attack().substring(0, row.attack().indexOf('.')) + ": " + row.detail());
      System.out.println("   expected: " + row.expected() + "; CA: " + row.caAfterwards());
    }
  }
}
