package dev.weft.controller;

import dev.weft.ca.AuthorityInfo;
import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.Pem;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /debug/ca}: the CA's signing certificates (subject, serial, validity, role) and the
 * trust bundle workloads need to trust its CSR service, as PEM.
 */
@RestController
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaDebugController {

  private final CaLifecycle lifecycle;

  CaDebugController(CaLifecycle lifecycle) {
    this.lifecycle = lifecycle;
  }

  /** The CA, or 503 with the reason while its key material is not loaded. */
  @GetMapping(path = "/debug/ca", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> ca() {
    Optional<CertificateAuthority> loaded = lifecycle.authority();
    if (loaded.isEmpty()) {
      return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
          .body(Map.of("reason", lifecycle.problem()));
    }
    CertificateAuthority ca = loaded.get();
    Optional<CaServer> server = lifecycle.server();
    List<X509Certificate> bundle = ca.trustBundle();
    return ResponseEntity.ok(
        new CaView(
            ca.trustDomain().name(),
            server.map(CaServer::port).orElse(null),
            server.map(CaServer::spiffeId).orElse(null),
            ca.defaultLifetime().toSeconds(),
            ca.maxLifetime().toSeconds(),
            ca.authorities().stream().map(a -> AuthorityView.of(a, bundle)).toList(),
            Pem.certificates(bundle)));
  }

  record CaView(
      String trustDomain,
      Integer port,
      String spiffeId,
      long defaultLifetimeSeconds,
      long maxLifetimeSeconds,
      List<AuthorityView> authorities,
      String trustBundlePem) {}

  /**
   * One signing certificate. Serial and notBefore come from the trust bundle's certificate of the
   * same subject; they are null for a plugged-in intermediate, which is not in the bundle.
   */
  record AuthorityView(
      String subject,
      String kind,
      String status,
      String serial,
      Instant notBefore,
      Instant notAfter) {

    static AuthorityView of(AuthorityInfo info, List<X509Certificate> bundle) {
      Optional<X509Certificate> certificate =
          bundle.stream()
              .filter(c -> c.getSubjectX500Principal().getName().equals(info.subject()))
              .findFirst();
      return new AuthorityView(
          info.subject(),
          info.kind().name(),
          info.status(),
          certificate.map(c -> c.getSerialNumber().toString(16)).orElse(null),
          certificate.map(c -> c.getNotBefore().toInstant()).orElse(null),
          info.notAfter());
    }
  }
}
