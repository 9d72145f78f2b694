package dev.weft.telemetry;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogCommon;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.data.accesslog.v3.TLSProperties;
import io.envoyproxy.envoy.service.accesslog.v3.AccessLogServiceGrpc;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Envoy's Access Log Service ({@code envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs},
 * the {@code envoy.access_loggers.http_grpc} logger): reads the requests a sidecar's inbound
 * listener served, one entry per request, and adds them to the golden metrics as the calls its
 * workload received ({@code reporter="destination"}).
 *
 * <p>Only the inbound side is read (the stream's {@code log_name} must be {@link
 * #INBOUND_LOG_NAME}, what Weft's sidecars send): the Metrics Service reports the same calls from
 * the caller's side ({@code reporter="source"}), as Istio has both reporters, so a call is counted
 * once per side and never twice by one side.
 *
 * <p>Per entry: the caller is the URI SAN of the peer certificate (a SPIFFE ID of the mesh's trust
 * domain; {@code unknown} without one), the Service is the request's authority resolved through the
 * registry (one it does not know is counted, not kept), the response code and, when the logger was
 * told to log it, the {@code grpc-status} trailer (or header, for a trailers-only response) give
 * the outcome, and the entry's duration (else the time to the last byte sent downstream) its
 * latency. Intermediate entries (of a request not finished yet) are skipped; TCP entries are
 * ignored. Entries are deltas (one request each), so no cumulative state is kept.
 *
 * <p>Thread-safety: a stream's state lives in its {@link EnvoyReportStream}; what streams share
 * (the golden metrics, the meters) is thread-safe.
 */
final class EnvoyAccessLogReceiver {

  /** The {@code log_name} Weft's sidecars give their inbound access log (docs/envoy.md). */
  static final String INBOUND_LOG_NAME = "weft/inbound";

  /** An authority longer than this is refused: no Service's name is that long. */
  static final int MAX_AUTHORITY_CHARS = 1024;

  private static final int MAX_GRPC_STATUS = 16;

  private final GoldenMetrics golden;
  private final DestinationResolver destinations;
  private final PeerIdentities identities;
  private final int maxEntriesPerMessage;
  private final Counter accepted;
  private final Counter refusedInvalid;
  private final Counter refusedTooLarge;
  private final Counter unknownDestinations;

  EnvoyAccessLogReceiver(
      GoldenMetrics golden,
      DestinationResolver destinations,
      PeerIdentities identities,
      int maxEntriesPerMessage,
      MeterRegistry meters) {
    this.golden = golden;
    this.destinations = destinations;
    this.identities = identities;
    this.maxEntriesPerMessage = maxEntriesPerMessage;
    this.accepted = EnvoyReceivers.messageCounter(meters, "access_log", "accepted");
    this.refusedInvalid = EnvoyReceivers.messageCounter(meters, "access_log", "invalid");
    this.refusedTooLarge = EnvoyReceivers.messageCounter(meters, "access_log", "too_large");
    this.unknownDestinations = EnvoyReceivers.unknownDestinations(meters);
  }

  ServerServiceDefinition service() {
    MethodDescriptor<Received<StreamAccessLogsMessage>, StreamAccessLogsResponse> method =
        AccessLogServiceGrpc.getStreamAccessLogsMethod().toBuilder(
                Received.marshaller(StreamAccessLogsMessage.parser()),
                ProtoUtils.marshaller(StreamAccessLogsResponse.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(AccessLogServiceGrpc.SERVICE_NAME)
        .addMethod(method, ServerCalls.asyncClientStreamingCall(this::stream))
        .build();
  }

  private StreamObserver<Received<StreamAccessLogsMessage>> stream(
      StreamObserver<StreamAccessLogsResponse> responses) {
    return new EnvoyReportStream<StreamAccessLogsMessage, StreamAccessLogsResponse>(
        responses, "StreamAccessLogsMessage") {
      @Override
      EnvoyProxy identify(StreamAccessLogsMessage first, Reporter authenticated)
          throws InvalidReport {
        if (!first.hasIdentifier() || !first.getIdentifier().hasNode()) {
          throw new InvalidReport(
              "identifier.node is missing: Envoy sends its node on the first message of a stream");
        }
        String logName = first.getIdentifier().getLogName();
        if (!logName.equals(INBOUND_LOG_NAME)) {
          throw new InvalidReport(
              "identifier.log_name is \""
                  + EnvoyReceivers.shortened(logName)
                  + "\": Weft reads the access logs of sidecars' inbound listeners only (log_name \""
                  + INBOUND_LOG_NAME
                  + "\"); a proxy's outbound calls come from its Metrics Service stats");
        }
        return EnvoyProxy.of(first.getIdentifier().getNode(), "identifier.node", authenticated);
      }

      @Override
      void accept(EnvoyProxy proxy, String peer, StreamAccessLogsMessage message)
          throws InvalidReport, TooLarge {
        if (message.getLogEntriesCase() != StreamAccessLogsMessage.LogEntriesCase.HTTP_LOGS) {
          accepted.increment(); // the identifying message alone, or TCP entries
          return;
        }
        int entries = message.getHttpLogs().getLogEntryCount();
        if (entries > maxEntriesPerMessage) {
          throw new TooLarge(
              "the message carries "
                  + entries
                  + " log entries; this collector takes at most "
                  + maxEntriesPerMessage
                  + " per message (lower the logger's buffer_size_bytes)");
        }
        Map<GoldenMetrics.SeriesKey, long[]> calls = new LinkedHashMap<>();
        long unknown = 0;
        for (int i = 0; i < entries; i++) {
          HTTPAccessLogEntry entry = message.getHttpLogs().getLogEntry(i);
          Optional<Call> call = call("http_logs.log_entry[" + i + "]", proxy, entry);
          if (call.isEmpty()) {
            continue;
          }
          if (call.get().key() == null) {
            unknown++;
            continue;
          }
          long[] counts =
              calls.computeIfAbsent(call.get().key(), unused -> new long[LatencyBuckets.COUNT]);
          counts[LatencyBuckets.indexOf(call.get().millis())]++;
        }
        accepted.increment();
        unknownDestinations.increment(unknown);
        calls.forEach(golden::record);
      }

      @Override
      StreamAccessLogsResponse response() {
        return StreamAccessLogsResponse.getDefaultInstance();
      }

      @Override
      void refused(Status.Code code) {
        (code == Status.Code.RESOURCE_EXHAUSTED ? refusedTooLarge : refusedInvalid).increment();
      }
    };
  }

  /**
   * One served request: its series (null when the registry does not know its Service) and its
   * latency.
   */
  private record Call(GoldenMetrics.SeriesKey key, double millis) {}

  /** The call an entry stands for, checked; empty for an intermediate entry. */
  private Optional<Call> call(String field, EnvoyProxy proxy, HTTPAccessLogEntry entry)
      throws InvalidReport {
    AccessLogCommon common = entry.getCommonProperties();
    String authority = entry.getRequest().getAuthority();
    if (authority.length() > MAX_AUTHORITY_CHARS) {
      throw new InvalidReport(
          field
              + ".request.authority has "
              + authority.length()
              + " characters; at most "
              + MAX_AUTHORITY_CHARS
              + " are taken");
    }
    int responseCode = entry.getResponse().getResponseCode().getValue();
    if (responseCode < 0 || responseCode > 999) {
      throw new InvalidReport(
          field
              + ".response.response_code "
              + Integer.toUnsignedString(responseCode)
              + " is not an HTTP status");
    }
    int grpcStatus = grpcStatus(field, entry, responseCode);
    double millis = millis(field, common);
    if (common.getIntermediateLogEntry()) {
      return Optional.empty();
    }
    Optional<Destination> destination =
        destinations.resolve(CallTarget.parse(authority, Optional.empty()));
    if (destination.isEmpty()) {
      return Optional.of(new Call(null, millis));
    }
    Reporter source = new Reporter(Reporter.UNKNOWN, Reporter.UNKNOWN, false);
    Destination.ConnectionSecurity security = Destination.ConnectionSecurity.NONE;
    TLSProperties.CertificateProperties peerCertificate =
        common.getTlsProperties().getPeerCertificateProperties();
    if (peerCertificate.getSubjectAltNameCount() > 0 || !peerCertificate.getSubject().isEmpty()) {
      security = Destination.ConnectionSecurity.MUTUAL_TLS;
      for (TLSProperties.CertificateProperties.SubjectAltName san :
          peerCertificate.getSubjectAltNameList()) {
        if (san.hasUri()) {
          Optional<Reporter> workload = identities.workloadOf(san.getUri());
          if (workload.isPresent()) {
            source = workload.get();
            break;
          }
        }
      }
    }
    Reporter reporter = proxy.reporter();
    return Optional.of(
        new Call(
            new GoldenMetrics.SeriesKey(
                GoldenMetrics.REPORTER_DESTINATION,
                source.workload(),
                source.namespace(),
                reporter.workload(),
                reporter.namespace(),
                destination.get().service(),
                proxy.version(),
                grpcStatus,
                Integer.toString(responseCode),
                security.label()),
            millis));
  }

  private static int grpcStatus(String field, HTTPAccessLogEntry entry, int responseCode)
      throws InvalidReport {
    String logged = entry.getResponse().getResponseTrailersOrDefault("grpc-status", null);
    String where = ".response.response_trailers";
    if (logged == null) {
      logged = entry.getResponse().getResponseHeadersOrDefault("grpc-status", null);
      where = ".response.response_headers";
    }
    if (logged == null) {
      return HttpOutcomes.grpcStatusOf(responseCode);
    }
    try {
      int status = Integer.parseInt(logged.trim());
      if (status >= 0 && status <= MAX_GRPC_STATUS) {
        return status;
      }
    } catch (NumberFormatException notANumber) {
      // refused below
    }
    throw new InvalidReport(
        field
            + where
            + "[grpc-status] \""
            + EnvoyReceivers.shortened(logged)
            + "\" is not a gRPC status code (0 to 16)");
  }

  /** The request's latency: its duration, else the time to its last byte sent downstream. */
  private static double millis(String field, AccessLogCommon common) throws InvalidReport {
    if (common.hasDuration()) {
      return millis(field + ".common_properties.duration", common.getDuration());
    }
    if (common.hasTimeToLastDownstreamTxByte()) {
      return millis(
          field + ".common_properties.time_to_last_downstream_tx_byte",
          common.getTimeToLastDownstreamTxByte());
    }
    return 0;
  }

  private static double millis(String field, Duration duration) throws InvalidReport {
    if (duration.getSeconds() < 0
        || duration.getNanos() < 0
        || duration.getNanos() > 999_999_999
        || duration.getSeconds() > 315_576_000_000L) {
      throw new InvalidReport(field + " is not a non-negative duration: " + duration);
    }
    return duration.getSeconds() * 1000.0 + duration.getNanos() / 1_000_000.0;
  }
}
