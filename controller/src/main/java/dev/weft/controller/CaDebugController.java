package dev.weft.controller;

import dev.weft.ca.AuthorityInfo;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.Pem;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /debug/ca}: the CA's signing certificates (subject, serial, validity, role) and the
 * trust bundle workloads need to trust its CSR service, as PEM.
 */
@RestController
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaDebugController {

  private final CertificateAuthority ca;
  private final CaConfiguration.CaServerLifecycle server;

  CaDebugController(CertificateAuthority ca, CaConfiguration.CaServerLifecycle server) {
    this.ca = ca;
    this.server = server;
  }

  @GetMapping(path = "/debug/ca", produces = MediaType.APPLICATION_JSON_VALUE)
  CaView ca() {
    List<X509Certificate> bundle = ca.trustBundle();
    return new CaView(
        ca.trustDomain().name(),
        server.isRunning() ? server.port() : null,
        server.isRunning() ? server.spiffeId() : null,
        ca.defaultLifetime().toSeconds(),
        ca.maxLifetime().toSeconds(),
        ca.authorities().stream().map(a -> AuthorityView.of(a, bundle)).toList(),
        Pem.certificates(bundle));
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
