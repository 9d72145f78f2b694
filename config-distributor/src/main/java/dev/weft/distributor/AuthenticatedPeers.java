package dev.weft.distributor;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
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
 * Lets through only calls whose TLS client certificate carries a SPIFFE ID of the mesh ({@code
 * spiffe://<trust domain>/ns/<namespace>/sa/<service account>}), and tells the call's stream who
 * that is: on the mutual TLS port, a proxy is who its certificate says, not what its node claims.
 * The TLS layer has already checked the certificate against the mesh's trust bundle; this reads the
 * identity from it. Stateless.
 */
final class AuthenticatedPeers implements ServerInterceptor {

  /** The workload a certificate names. */
  record Identity(String namespace, String serviceAccount) {}

  /** The identity of the current call, on the mutual TLS port. */
  static final Context.Key<Identity> IDENTITY = Context.key("weft-peer-identity");

  private static final int URI_SAN = 6;

  private final Pattern spiffeId;

  AuthenticatedPeers(String trustDomain) {
    this.spiffeId =
        Pattern.compile(
            "^spiffe://" + Pattern.quote(trustDomain) + "/ns/([a-z0-9-]+)/sa/([a-z0-9.-]+)$");
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Optional<Identity> identity =
        identityOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (identity.isEmpty()) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              "xDS on the mutual TLS port needs the workload's certificate (its SVID from Weft's"
                  + " CA) as the TLS client certificate"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(
        Context.current().withValue(IDENTITY, identity.get()), call, headers, next);
  }

  private Optional<Identity> identityOf(SSLSession session) {
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
          Matcher matcher = spiffeId.matcher(String.valueOf(name.get(1)));
          if (matcher.matches()) {
            return Optional.of(new Identity(matcher.group(1), matcher.group(2)));
          }
        }
      }
      return Optional.empty();
    } catch (SSLPeerUnverifiedException | CertificateParsingException noCertificate) {
      return Optional.empty();
    }
  }
}
