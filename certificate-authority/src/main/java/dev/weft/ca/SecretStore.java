package dev.weft.ca;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Keeps the CA state in one Kubernetes Secret. Creation is a plain create, which the API server
 * makes atomic: of replicas starting together exactly one succeeds, and the others get 409 Conflict
 * and read the winner's Secret, so all of them sign with one root.
 */
final class SecretStore implements KeyMaterialStore {

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private volatile String resourceVersion;

  SecretStore(KubernetesClient client, String namespace, String name) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
  }

  @Override
  public Optional<Map<String, String>> load() throws IOException {
    try {
      Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
      if (secret == null) {
        return Optional.empty();
      }
      resourceVersion = secret.getMetadata().getResourceVersion();
      return Optional.of(decode(secret));
    } catch (KubernetesClientException e) {
      throw new IOException("cannot read Secret " + namespace + "/" + name, e);
    }
  }

  @Override
  public Map<String, String> createIfAbsent(Map<String, String> entries) throws IOException {
    try {
      Secret created = client.secrets().inNamespace(namespace).resource(secret(entries)).create();
      resourceVersion = created.getMetadata().getResourceVersion();
      return entries;
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw new IOException("cannot create Secret " + namespace + "/" + name, e);
      }
      return load()
          .orElseThrow(
              () -> new IOException("Secret " + namespace + "/" + name + " conflicts but is gone"));
    }
  }

  @Override
  public void replace(Map<String, String> entries) throws IOException {
    try {
      Secret secret = secret(entries);
      secret.getMetadata().setResourceVersion(resourceVersion);
      Secret updated = client.secrets().inNamespace(namespace).resource(secret).update();
      resourceVersion = updated.getMetadata().getResourceVersion();
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        throw new IOException(
            "Secret "
                + namespace
                + "/"
                + name
                + " was changed by another replica since this one read it; reload first",
            e);
      }
      throw new IOException("cannot update Secret " + namespace + "/" + name, e);
    }
  }

  private Secret secret(Map<String, String> entries) {
    Map<String, String> data = new TreeMap<>();
    entries.forEach(
        (key, value) ->
            data.put(
                key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))));
    return new SecretBuilder()
        .withNewMetadata()
        .withNamespace(namespace)
        .withName(name)
        .addToLabels("app.kubernetes.io/managed-by", "weft")
        .endMetadata()
        .withType("Opaque")
        .withData(data)
        .build();
  }

  private static Map<String, String> decode(Secret secret) {
    Map<String, String> entries = new TreeMap<>();
    if (secret.getData() != null) {
      secret
          .getData()
          .forEach(
              (key, value) ->
                  entries.put(
                      key, new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8)));
    }
    return entries;
  }
}
