package dev.weft.ca;

import dev.weft.api.validation.FieldError;

/** Why a certificate was not issued: the label of the refusal metric and the gRPC status. */
public enum RefusalReason {
  /** The caller presented no credential at all. */
  NO_CREDENTIAL,
  /** The credential was presented but did not prove an identity. */
  BAD_CREDENTIAL,
  /** The CSR asks for an identity other than the authenticated caller's. */
  IDENTITY_MISMATCH,
  /** Not a readable PKCS#10 request. */
  MALFORMED_CSR,
  /** The CSR's signature does not verify with its own key. */
  BAD_CSR_SIGNATURE,
  /** A key that is too weak, too large, or of an unsupported algorithm or curve. */
  UNSUPPORTED_KEY,
  /** A requested lifetime that is not positive or over the maximum. */
  BAD_LIFETIME,
  /**
   * Too many requests without a current certificate from one peer address (RESOURCE_EXHAUSTED);
   * nothing was authenticated or validated.
   */
  RATE_LIMITED,
  /**
   * The caller authenticated as the control plane's own identity, which the CSR service never
   * issues (PERMISSION_DENIED): the control plane issues its own certificate without a CSR.
   */
  RESERVED_IDENTITY;

  /** The reason behind a field error of the CA's own validation, by the field it names. */
  public static RefusalReason of(FieldError error) {
    return switch (error.path()) {
      case CsrValidator.SIGNATURE -> BAD_CSR_SIGNATURE;
      case CsrValidator.PUBLIC_KEY -> UNSUPPORTED_KEY;
      case CsrValidator.SUBJECT_ALT_NAME -> IDENTITY_MISMATCH;
      case CertificateAuthority.VALIDITY -> BAD_LIFETIME;
      default -> MALFORMED_CSR;
    };
  }
}
