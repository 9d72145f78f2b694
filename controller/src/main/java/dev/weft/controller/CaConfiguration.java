package dev.weft.controller;

import dev.weft.api.validation.Validated;
import dev.weft.ca.Authenticator;
import dev.weft.ca.CaServer;
import dev.weft.ca.CertificateAuthority;
import dev.weft.ca.KeyMaterialStore;
import dev.weft.ca.TrustDomain;
import dev.weft.ca.WorkloadIdentity;
import dev.weft.distributor.ConfigDistributor;
import dev.weft.telemetry.TelemetryCollector;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Wires the certificate authority: the CA itself (key material in a Kubernetes Secret, or a data
 * directory standalone), its CSR service, and the rotation of its root. Absent with {@code
 * weft.ca.enabled=false}.
 *
 * <p>Authentication, in order: the caller's current SVID (renewals), then its first credential: a
 * ServiceAccount token reviewed by the API server in Kubernetes mode, a bootstrap token standalone.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty(name = "weft.ca.enabled", matchIfMissing = true)
class CaConfiguration {

  private static final Logger log = LoggerFactory.getLogger(CaConfiguration.class);

  @Bean
  Clock caClock() {
    return Clock.systemUTC();
  }

  @Bean
  MicrometerCaMetrics caMetrics(MeterRegistry meters, Clock caClock) {
    return new MicrometerCaMetrics(meters, caClock);
  }

  /** The CA: loads the stored one (or creates its root on first start), then serves CSRs. */
  @Bean
  CaLifecycle certificateAuthority(
      WeftProperties properties,
      Environment environment,
      RegistryConfiguration.KubernetesClientHolder clients,
      MicrometerCaMetrics metrics,
      ConfigDistributor distributor,
      ObjectProvider<TelemetryCollector> telemetry,
      Clock caClock) {
    WeftProperties.Ca settings = properties.ca();
    boolean kubernetes = KubernetesMode.active(environment);
    TrustDomain trustDomain = trustDomain(settings);
    checkRateLimit(settings);
    // Proxies' xDS streams come in on this port too: the same bounds as the plaintext port's.
    WeftProperties.Xds xds = properties.xds();
    CaServer.ConnectionLimits connections =
        XdsConfiguration.limit(
            "weft.xds",
            () ->
                new CaServer.ConnectionLimits(
                    xds.maxStreamAge(),
                    xds.maxStreamAgeGrace(),
                    (int) Math.min(xds.limits().maxMessageSize().toBytes(), Integer.MAX_VALUE),
                    xds.limits().maxStreamsPerConnection()));
    CaLifecycle.Loader loader =
        () ->
            CertificateAuthority.builder()
                .trustDomain(trustDomain)
                .defaultLifetime(settings.defaultLifetime())
                .maxLifetime(settings.maxLifetime())
                .store(
                    kubernetes
                        ? KeyMaterialStore.kubernetesSecret(
                            clients.client(),
                            properties.kubernetes().controlPlaneNamespace(),
                            settings.secretName())
                        : KeyMaterialStore.directory(settings.dataDir()))
                .clock(caClock)
                .metrics(metrics)
                .build();
    String firstCertificates;
    Authenticator firstCredential;
    if (kubernetes) {
      firstCredential =
          Authenticator.kubernetesTokenReview(clients.client(), settings.tokenAudiences());
      firstCertificates = "ServiceAccount tokens";
      if (!settings.bootstrapTokens().isEmpty()) {
        log.warn(
            "weft.ca.bootstrap-tokens is ignored in Kubernetes mode: workloads authenticate with"
                + " their ServiceAccount tokens");
      }
    } else if (!settings.bootstrapTokens().isEmpty()) {
      firstCredential = Authenticator.bootstrapTokens(Path.of(settings.bootstrapTokens()));
      firstCertificates = "bootstrap tokens in " + settings.bootstrapTokens();
    } else {
      firstCredential = null;
      firstCertificates = "nothing (no weft.ca.bootstrap-tokens): renewals only";
    }
    WorkloadIdentity self =
        new WorkloadIdentity(
            properties.kubernetes().controlPlaneNamespace(),
            properties.kubernetes().serviceAccount());
    return new CaLifecycle(
        loader,
        ca -> {
          List<Authenticator> chain = new ArrayList<>();
          chain.add(Authenticator.currentSvid(ca, caClock));
          if (firstCredential != null) {
            chain.add(firstCredential);
          }
          CaServer.Builder server = CaServer.builder(ca);
          // xDS over mutual TLS on the same port, as istiod serves it beside its CA.
          distributor.authenticatedServices().forEach(server::service);
          // Telemetry too (OTLP, Envoy's Metrics and Access Log Services): here a sender is who
          // its certificate says.
          telemetry.ifAvailable(collector -> collector.services().forEach(server::service));
          server.streamTracer(distributor.messageSizeRefusals());
          return server
              .port(settings.port())
              .connectionLimits(connections)
              .authenticator(Authenticator.firstOf(chain))
              .identity(self)
              .dnsNames(settings.dnsNames())
              .unauthenticatedRateLimit(
                  settings.unauthenticatedRateLimit(), settings.unauthenticatedBurst())
              .clock(caClock)
              .metrics(metrics);
        },
        settings.port(),
        firstCertificates,
        ca -> metrics.authorities(ca.authorities()));
  }

  @Bean(destroyMethod = "close")
  CaRotation caRotation(CaLifecycle ca, MicrometerCaMetrics metrics, Environment environment) {
    return new CaRotation(
        ca::authority,
        metrics,
        KubernetesMode.active(environment)
            ? CaRotation.Mode.ELECTED
            : CaRotation.Mode.ALWAYS_LEADS);
  }

  private static void checkRateLimit(WeftProperties.Ca settings) {
    double rate = settings.unauthenticatedRateLimit();
    if (!(rate > 0) || Double.isInfinite(rate)) {
      throw new InvalidSettingException(
          "weft.ca.unauthenticated-rate-limit",
          rate + " is not a positive number of requests per second",
          "Use a positive number, such as 20 (--weft.ca.unauthenticated-rate-limit=20).",
          null);
    }
    if (settings.unauthenticatedBurst() < 1) {
      throw new InvalidSettingException(
          "weft.ca.unauthenticated-burst",
          settings.unauthenticatedBurst() + " is less than 1",
          "Use a whole number of at least 1, such as 40 (--weft.ca.unauthenticated-burst=40).",
          null);
    }
  }

  private static TrustDomain trustDomain(WeftProperties.Ca settings) {
    Validated<TrustDomain> parsed = TrustDomain.parse(settings.trustDomain());
    if (parsed instanceof Validated.Valid<TrustDomain> valid) {
      return valid.value();
    }
    throw new InvalidSettingException(
        "weft.ca.trust-domain",
        parsed.errors().get(0).reason(),
        "Use a lowercase DNS-like name, such as cluster.local (--weft.ca.trust-domain=NAME).",
        null);
  }
}
