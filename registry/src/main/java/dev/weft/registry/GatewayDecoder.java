package dev.weft.registry;

import dev.weft.api.validation.FieldErrors;
import dev.weft.api.validation.Validated;
import dev.weft.registry.model.MeshGateway;
import dev.weft.registry.model.MeshGatewayClass;
import dev.weft.registry.model.TlsCredential;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Listener;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.SecretObjectReference;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decodes validated {@code Gateway}s and {@code GatewayClass}es, and the {@code kubernetes.io/tls}
 * Secrets their HTTPS listeners serve, into Weft's model. Stateless.
 */
final class GatewayDecoder {

  /** The Secret type whose certificate and key Gateways serve; Weft reads no other Secret. */
  static final String TLS_SECRET_TYPE = "kubernetes.io/tls";

  private static final Pattern PRIVATE_KEY_PEM =
      Pattern.compile(
          "-----BEGIN ([A-Z ]*)PRIVATE KEY-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1PRIVATE"
              + " KEY-----");

  private GatewayDecoder() {}

  static MeshGateway decode(Gateway gateway) {
    List<MeshGateway.Listener> listeners = new ArrayList<>();
    for (Listener listener : gateway.getSpec().getListeners()) {
      List<String> certificates = new ArrayList<>();
      if (listener.getTls() != null && listener.getTls().getCertificateRefs() != null) {
        for (SecretObjectReference ref : listener.getTls().getCertificateRefs()) {
          certificates.add(ref.getName());
        }
      }
      boolean fromAll =
          listener.getAllowedRoutes() != null
              && listener.getAllowedRoutes().getNamespaces() != null
              && "All".equals(listener.getAllowedRoutes().getNamespaces().getFrom());
      listeners.add(
          new MeshGateway.Listener(
              listener.getName(),
              listener.getPort(),
              MeshGateway.Protocol.valueOf(listener.getProtocol()),
              Optional.ofNullable(listener.getHostname()),
              certificates,
              fromAll));
    }
    return new MeshGateway(
        gateway.getMetadata().getNamespace(),
        gateway.getMetadata().getName(),
        gateway.getSpec().getGatewayClassName(),
        RouteDecoder.created(gateway),
        listeners);
  }

  static MeshGatewayClass decode(GatewayClass gatewayClass) {
    return new MeshGatewayClass(
        gatewayClass.getMetadata().getName(), gatewayClass.getSpec().getControllerName());
  }

  /**
   * The certificate and key of a {@code kubernetes.io/tls} Secret, checked: {@code tls.crt} must
   * hold X.509 certificates in PEM and {@code tls.key} a PEM private key (Envoy reads PKCS#1, SEC1
   * and PKCS#8 alike, so any of them). The values come from {@code data} (base64, as the API server
   * keeps them) or, in a hand-written manifest, {@code stringData}.
   */
  static Validated<TlsCredential> credential(ObjectKey key, Secret secret) {
    FieldErrors errors = new FieldErrors();
    String chain = value(secret, "tls.crt", errors);
    String privateKey = value(secret, "tls.key", errors);
    if (chain != null) {
      certificateProblem(chain).ifPresent(problem -> errors.add("data[tls.crt]", problem));
    }
    if (privateKey != null) {
      keyProblem(privateKey).ifPresent(problem -> errors.add("data[tls.key]", problem));
    }
    return errors.toResult(() -> new TlsCredential(key.namespace(), key.name(), chain, privateKey));
  }

  /**
   * What the registry keeps of a TLS Secret as its resource: its identity, type and labels, never
   * its data, which lives only in the {@link TlsCredential}.
   */
  static Secret withoutData(Secret secret) {
    return new SecretBuilder()
        .withMetadata(
            new ObjectMetaBuilder()
                .withNamespace(secret.getMetadata().getNamespace())
                .withName(secret.getMetadata().getName())
                .withLabels(secret.getMetadata().getLabels())
                .withCreationTimestamp(secret.getMetadata().getCreationTimestamp())
                .withResourceVersion(secret.getMetadata().getResourceVersion())
                .build())
        .withType(secret.getType())
        .build();
  }

  private static String value(Secret secret, String field, FieldErrors errors) {
    Map<String, String> data = secret.getData();
    if (data != null && data.get(field) != null) {
      try {
        return new String(Base64.getMimeDecoder().decode(data.get(field)), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        errors.add("data[" + field + "]", "is not base64");
        return null;
      }
    }
    Map<String, String> text = secret.getStringData();
    if (text != null && text.get(field) != null) {
      return text.get(field);
    }
    errors.add("data[" + field + "]", "required in a " + TLS_SECRET_TYPE + " Secret");
    return null;
  }

  private static Optional<String> certificateProblem(String pem) {
    if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
      return Optional.of("holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    try {
      var certificates =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)));
      return certificates.isEmpty()
          ? Optional.of("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
          : Optional.empty();
    } catch (CertificateException e) {
      return Optional.of("is not an X.509 certificate in PEM: " + e.getMessage());
    }
  }

  private static Optional<String> keyProblem(String pem) {
    Matcher matcher = PRIVATE_KEY_PEM.matcher(pem);
    if (!matcher.find()) {
      return Optional.of("holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    }
    try {
      byte[] der = Base64.getMimeDecoder().decode(matcher.group(2));
      return der.length == 0 ? Optional.of("the PEM private key is empty") : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of("the PEM private key is not base64");
    }
  }
}
