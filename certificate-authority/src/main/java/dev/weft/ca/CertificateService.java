package dev.weft.ca;

import dev.weft.api.ca.v1.CertificateRequest;
import dev.weft.api.ca.v1.CertificateResponse;
import dev.weft.api.ca.v1.CertificateServiceGrpc;
import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.stream.Collectors;

/**
 * The CSR service: rate-limit, authenticate, validate, issue. Refusals become gRPC statuses whose
 * message names the field and the reason; nothing is issued then.
 *
 * <ul>
 *   <li>A request without a current SVID of this CA (a first certificate, or a renewal too late)
 *       must be authenticated the expensive way (a TokenReview): it takes a token from its peer's
 *       bucket first, and is refused with RESOURCE_EXHAUSTED when the bucket is empty. Renewals
 *       with a current SVID are never limited.
 *   <li>The control plane's own identity is never issued here, whatever the authenticator says (a
 *       bootstrap token naming it, a token of the control plane's ServiceAccount, which any pod
 *       running as that ServiceAccount holds): the control plane issues its own certificate without
 *       a CSR ({@link CertificateAuthority#issueOwn}), so nothing legitimate asks for it here.
 * </ul>
 *
 * <p>Thread-safety: stateless but for the rate limiter, which is thread-safe.
 */
final class CertificateService implements CertificateServiceGrpc.AsyncService {

  private static final String PEM_BEGIN = "-----BEGIN CERTIFICATE REQUEST-----";
  private static final String PEM_END = "-----END CERTIFICATE REQUEST-----";

  private final CertificateAuthority ca;
  private final Authenticator authenticator;
  private final CaMetrics metrics;
  private final Authenticator currentSvid;
  private final PeerRateLimiter limiter;
  private final WorkloadIdentity reserved;

  /**
   * @param currentSvid decides which requests are renewals with a current SVID, not rate-limited
   * @param reserved the control plane's own identity, never issued
   */
  CertificateService(
      CertificateAuthority ca,
      Authenticator authenticator,
      CaMetrics metrics,
      Authenticator currentSvid,
      PeerRateLimiter limiter,
      WorkloadIdentity reserved) {
    this.ca = ca;
    this.authenticator = authenticator;
    this.metrics = metrics;
    this.currentSvid = currentSvid;
    this.limiter = limiter;
    this.reserved = reserved;
  }

  @Override
  public void createCertificate(
      CertificateRequest request, StreamObserver<CertificateResponse> responseObserver) {
    CallerCredentials credentials = CallerContext.CREDENTIALS.get();
    if (!(currentSvid.authenticate(credentials) instanceof AuthResult.Authenticated)) {
      String peer = CallerContext.PEER.get();
      if (!limiter.tryAcquire(peer)) {
        metrics.refused(RefusalReason.RATE_LIMITED);
        responseObserver.onError(
            Status.RESOURCE_EXHAUSTED
                .withDescription(
                    "too many certificate requests without a current certificate from "
                        + peer
                        + ": at most "
                        + limiter.limit()
                        + "; retry later, or renew with your current SVID")
                .asRuntimeException());
        return;
      }
    }
    AuthResult auth = authenticator.authenticate(credentials);
    if (auth instanceof AuthResult.NotPresented) {
      metrics.refused(RefusalReason.NO_CREDENTIAL);
      responseObserver.onError(
          Status.UNAUTHENTICATED
              .withDescription(
                  "no credential: send a ServiceAccount or bootstrap token as 'authorization:"
                      + " Bearer <token>', or connect with your current SVID")
              .asRuntimeException());
      return;
    }
    if (auth instanceof AuthResult.Unavailable unavailable) {
      responseObserver.onError(
          Status.UNAVAILABLE.withDescription(unavailable.reason()).asRuntimeException());
      return;
    }
    if (auth instanceof AuthResult.Refused refused) {
      metrics.refused(RefusalReason.BAD_CREDENTIAL);
      responseObserver.onError(
          Status.UNAUTHENTICATED
              .withDescription(refused.field() + ": " + refused.reason())
              .asRuntimeException());
      return;
    }
    WorkloadIdentity identity = ((AuthResult.Authenticated) auth).identity();
    if (identity.equals(reserved)) {
      metrics.refused(RefusalReason.RESERVED_IDENTITY);
      responseObserver.onError(
          Status.PERMISSION_DENIED
              .withDescription(
                  "identity: "
                      + identity.spiffeId(ca.trustDomain())
                      + " is the control plane's own identity, which the CSR service never"
                      + " issues")
              .asRuntimeException());
      return;
    }
    byte[] csr;
    switch (request.getCsrCase()) {
      case CSR_DER -> csr = request.getCsrDer().toByteArray();
      case CSR_PEM -> csr = fromPem(request.getCsrPem());
      default -> csr = new byte[0];
    }
    Duration validity =
        request.hasValidity()
            ? Duration.ofSeconds(
                request.getValidity().getSeconds(), request.getValidity().getNanos())
            : null;
    Validated<Svid> issued = ca.issue(identity, csr, validity);
    if (!(issued instanceof Validated.Valid<Svid> valid)) {
      FieldError first = issued.errors().get(0);
      Status status =
          RefusalReason.of(first) == RefusalReason.IDENTITY_MISMATCH
              ? Status.PERMISSION_DENIED
              : Status.INVALID_ARGUMENT;
      responseObserver.onError(
          status
              .withDescription(
                  issued.errors().stream()
                      .map(FieldError::toString)
                      .collect(Collectors.joining("; ")))
              .asRuntimeException());
      return;
    }
    CertificateResponse.Builder response = CertificateResponse.newBuilder();
    for (X509Certificate certificate : valid.value().chain()) {
      response.addCertChainPem(Pem.certificate(certificate));
    }
    for (X509Certificate root : valid.value().trustBundle()) {
      response.addTrustBundlePem(Pem.certificate(root));
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  /** The DER of a PEM CSR; empty (refused by validation as not a CSR) when it is not one. */
  static byte[] fromPem(String pem) {
    int begin = pem.indexOf(PEM_BEGIN);
    int end = pem.indexOf(PEM_END);
    if (begin < 0 || end < begin + PEM_BEGIN.length()) {
      return pem.getBytes(StandardCharsets.US_ASCII);
    }
    try {
      return Base64.getMimeDecoder().decode(pem.substring(begin + PEM_BEGIN.length(), end));
    } catch (IllegalArgumentException e) {
      return pem.getBytes(StandardCharsets.US_ASCII);
    }
  }
}
