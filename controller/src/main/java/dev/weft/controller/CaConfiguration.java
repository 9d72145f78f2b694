package dev.weft.controller;

import dev.weft.api.validation.Validated;
import dev.weft.ca.Authenticator;
import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.TrustDomain;
import dev.weft.ca.WorkloadIdentity;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Wires the certificate authority: the CA itself (key material in a Kubernetes Secret, or a data
 * directory standalone), its CSR service, and the rotation of its root. Absent with {@code
 * weft.ca.enabled=false}.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaConfiguration {

  /** The service account of the control plane's own identity, in its namespace. */
  static final String SERVICE_ACCOUNT = "weft";

  private static final Logger log = LoggerFactory.getLogger(CaConfiguration.class);

  @Bean
  Clock caClock() {
    return Clock.systemUTC();
  }

  @Bean
  MicrometerCaMetrics caMetrics(MeterRegistry meters, Clock caClock) {
    return new MicrometerCaMetrics(meters, caClock);
  }

  /** Loads the stored CA, or creates its root on first start. */
  @Bean
  CertificateAuthority certificateAuthority(
      WeftProperties properties,
      Environment environment,
      RegistryConfiguration.KubernetesClientHolder clients,
      MicrometerCaMetrics metrics,
      Clock caClock)
      throws IOException {
    WeftProperties.Ca settings = properties.ca();
    KeyMaterialStore store =
        RegistryConfiguration.kubernetesMode(properties, environment)
            ? KeyMaterialStore.kubernetesSecret(
                clients.client(),
                properties.kubernetes().controlPlaneNamespace(),
                settings.secretName())
            : KeyMaterialStore.directory(settings.dataDir());
    CertificateAuthority ca =
        CertificateAuthority.builder()
            .trustDomain(trustDomain(settings))
            .defaultLifetime(settings.defaultLifetime())
            .maxLifetime(settings.maxLifetime())
            .store(store)
            .clock(caClock)
            .metrics(metrics)
            .build();
    metrics.authorities(ca.authorities());
    return ca;
  }

  @Bean
  CaServerLifecycle caServer(
      CertificateAuthority ca,
      WeftProperties properties,
      Environment environment,
      RegistryConfiguration.KubernetesClientHolder clients,
      MicrometerCaMetrics metrics,
      Clock caClock) {
    WeftProperties.Ca settings = properties.ca();
    List<Authenticator> authenticators = new ArrayList<>();
    authenticators.add(Authenticator.currentSvid(ca, caClock));
    String firstCertificates;
    if (RegistryConfiguration.kubernetesMode(properties, environment)) {
      authenticators.add(
          Authenticator.kubernetesTokenReview(clients.client(), settings.tokenAudiences()));
      firstCertificates = "ServiceAccount tokens";
      if (!settings.bootstrapTokens().isEmpty()) {
        log.warn(
            "weft.ca.bootstrap-tokens is ignored in Kubernetes mode: workloads authenticate with"
                + " their ServiceAccount tokens");
      }
    } else if (!settings.bootstrapTokens().isEmpty()) {
      authenticators.add(Authenticator.bootstrapTokens(Path.of(settings.bootstrapTokens())));
      firstCertificates = "bootstrap tokens in " + settings.bootstrapTokens();
    } else {
      firstCertificates = "nothing (no weft.ca.bootstrap-tokens): renewals only";
    }
    CaServer.Builder server =
        CaServer.builder(ca)
            .port(settings.port())
            .authenticator(Authenticator.firstOf(authenticators))
            .identity(
                new WorkloadIdentity(
                    properties.kubernetes().controlPlaneNamespace(), SERVICE_ACCOUNT))
            .dnsNames(settings.dnsNames())
            .clock(caClock)
            .metrics(metrics);
    return new CaServerLifecycle(server, settings.port(), firstCertificates);
  }

  @Bean(destroyMethod = "close")
  CaRotation caRotation(
      CertificateAuthority ca,
      MicrometerCaMetrics metrics,
      WeftProperties properties,
      Environment environment) {
    return new CaRotation(
        ca,
        metrics,
        RegistryConfiguration.kubernetesMode(properties, environment)
            ? CaRotation.Mode.ELECTED
            : CaRotation.Mode.ALWAYS_LEADS);
  }

  private static TrustDomain trustDomain(WeftProperties.Ca settings) {
    Validated<TrustDomain> parsed = TrustDomain.parse(settings.trustDomain());
    if (parsed instanceof Validated.Valid<TrustDomain> valid) {
      return valid.value();
    }
    throw new IllegalArgumentException("weft.ca.trust-domain: " + parsed.errors().get(0).reason());
  }

  /** Serves the CSR service while the application runs. */
  static final class CaServerLifecycle implements SmartLifecycle {
    private final CaServer.Builder builder;
    private final int configuredPort;
    private final String firstCertificates;
    private volatile CaServer server;

    CaServerLifecycle(CaServer.Builder builder, int configuredPort, String firstCertificates) {
      this.builder = builder;
      this.configuredPort = configuredPort;
      this.firstCertificates = firstCertificates;
    }

    @Override
    public void start() {
      try {
        server = builder.start();
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot serve the CA on port " + configuredPort + " (weft.ca.port)", e);
      }
      log.info(
          "serving the CA (CSR service, TLS) on port {} as {}; first certificates for {}",
          server.port(),
          server.spiffeId(),
          firstCertificates);
    }

    @Override
    public void stop() {
      CaServer running = server;
      server = null;
      if (running != null) {
        try {
          running.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    public boolean isRunning() {
      return server != null;
    }

    /** The port the CSR service is served on. */
    int port() {
      return running().port();
    }

    /** The SPIFFE ID the CA server presents. */
    String spiffeId() {
      return running().spiffeId();
    }

    private CaServer running() {
      CaServer running = server;
      if (running == null) {
        throw new IllegalStateException("the CA server is not running");
      }
      return running;
    }
  }
}
