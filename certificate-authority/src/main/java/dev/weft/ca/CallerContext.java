package dev.weft.ca;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Takes what the caller presented off the call (bearer token from the metadata, client chain from
 * the TLS session) and where it called from (its IP address) into the gRPC context, where the
 * service reads them. Stateless.
 */
final class CallerContext implements ServerInterceptor {

  static final Context.Key<CallerCredentials> CREDENTIALS =
      Context.keyWithDefault("weft-ca-caller", CallerCredentials.none());

  /** The caller's IP address (without port), the key of its rate limit. */
  static final Context.Key<String> PEER = Context.keyWithDefault("weft-ca-peer", "unknown");

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static final String BEARER = "Bearer ";

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String authorization = headers.get(AUTHORIZATION);
    Optional<String> token =
        authorization != null && authorization.startsWith(BEARER)
            ? Optional.of(authorization.substring(BEARER.length()).strip())
            : Optional.empty();
    List<X509Certificate> chain = new ArrayList<>();
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session != null) {
      try {
        for (Certificate certificate : session.getPeerCertificates()) {
          chain.add((X509Certificate) certificate);
        }
      } catch (SSLPeerUnverifiedException noClientCertificate) {
        // A first-time caller has no SVID yet; it authenticates with a token.
      }
    }
    Context context =
        Context.current()
            .withValues(
                CREDENTIALS,
                new CallerCredentials(token, chain),
                PEER,
                peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The address without its port: each connection of one caller has another port. */
  static String peer(SocketAddress address) {
    if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress().getHostAddress();
    }
    return String.valueOf(address);
  }
}
