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
 * The CSR service: authenticate, validate, issue. Refusals become gRPC statuses whose message names
 * the field and the reason; nothing is issued then. Stateless.
 */
final class CertificateService implements CertificateServiceGrpc.AsyncService {

  private static final String PEM_BEGIN = "-----BEGIN CERTIFICATE REQUEST-----";
  private static final String PEM_END = "-----END CERTIFICATE REQUEST-----";

  private final CertificateAuthority ca;
  private final Authenticator authenticator;
  private final CaMetrics metrics;

  CertificateService(CertificateAuthority ca, Authenticator authenticator, CaMetrics metrics) {
    this.ca = ca;
    this.authenticator = authenticator;
    this.metrics = metrics;
  }

  @Override
  public void createCertificate(
      CertificateRequest request, StreamObserver<CertificateResponse> responseObserver) {
    AuthResult auth = authenticator.authenticate(CallerContext.CREDENTIALS.get());
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
    if (begin < 0 || end < begin) {
      return pem.getBytes(StandardCharsets.US_ASCII);
    }
    try {
      return Base64.getMimeDecoder().decode(pem.substring(begin + PEM_BEGIN.length(), end));
    } catch (IllegalArgumentException e) {
      return pem.getBytes(StandardCharsets.US_ASCII);
    }
  }
}
