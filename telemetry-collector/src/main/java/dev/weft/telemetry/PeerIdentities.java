package dev.weft.telemetry;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Tells a call who is calling when it came over mutual TLS with a certificate of the mesh ({@code
 * spiffe://<trust domain>/ns/<namespace>/sa/<service account>}). A sender without one is refused
 * when a certificate is required (in a cluster); otherwise (standalone) it is let through without
 * an identity, and the receiver falls back to what the report says about itself. The TLS layer has
 * already verified the certificate against the mesh's trust bundle. Every call also learns the
 * caller's IP address. Stateless.
 */
final class PeerIdentities implements ServerInterceptor {

  static final Context.Key<Reporter> REPORTER = Context.key("weft-telemetry-reporter");

  /**
   * The caller's IP address, which tells replicas of one workload apart (they share a certificate
   * identity and often an identical OTLP resource).
   */
  static final Context.Key<String> PEER_ADDRESS = Context.key("weft-telemetry-peer-address");

  private static final int URI_SAN = 6;

  private final Pattern spiffeId;
  private final boolean requireCertificate;

  PeerIdentities(String trustDomain, boolean requireCertificate) {
    this.requireCertificate = requireCertificate;
    this.spiffeId =
        Pattern.compile(
            "^spiffe://" + Pattern.quote(trustDomain) + "/ns/([a-z0-9-]+)/sa/([a-z0-9.-]+)$");
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Context context = Context.current().withValue(PEER_ADDRESS, addressOf(call));
    Optional<Reporter> reporter =
        reporterOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (reporter.isPresent()) {
      context = context.withValue(REPORTER, reporter.get());
    } else if (requireCertificate) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              "metrics are taken only from workloads of the mesh: connect over mutual TLS with the"
                  + " workload's certificate (its SVID from Weft's CA) as the client certificate"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static String addressOf(ServerCall<?, ?> call) {
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress().getHostAddress();
    }
    return String.valueOf(remote);
  }

  /**
   * The workload a SPIFFE ID of the mesh's trust domain names (a certificate's URI SAN, as the TLS
   * layer verified it); empty for any other URI.
   */
  Optional<Reporter> workloadOf(String uri) {
    Matcher matcher = spiffeId.matcher(uri);
    return matcher.matches()
        ? Optional.of(new Reporter(matcher.group(2), matcher.group(1), true))
        : Optional.empty();
  }

  private Optional<Reporter> reporterOf(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return Optional.empty();
      }
      Collection<List<?>> names = leaf.getSubjectAlternativeNames();
      for (List<?> name : names == null ? List.<List<?>>of() : names) {
        if (Integer.valueOf(URI_SAN).equals(name.get(0))) {
          Optional<Reporter> workload = workloadOf(String.valueOf(name.get(1)));
          if (workload.isPresent()) {
            return workload;
          }
        }
      }
      return Optional.empty();
    } catch (SSLPeerUnverifiedException | CertificateParsingException noCertificate) {
      return Optional.empty();
    }
  }
}
