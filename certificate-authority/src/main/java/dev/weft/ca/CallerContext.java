package dev.weft.ca;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Takes what the caller presented off the call (bearer token from the metadata, client chain from
 * the TLS session) into the gRPC context, where the service reads it. Stateless.
 */
final class CallerContext implements ServerInterceptor {

  static final Context.Key<CallerCredentials> CREDENTIALS =
      Context.keyWithDefault("weft-ca-caller", CallerCredentials.none());

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
    Context context = Context.current().withValue(CREDENTIALS, new CallerCredentials(token, chain));
    return Contexts.interceptCall(context, call, headers, next);
  }
}
