package dev.weft.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Everything the CA persists: its authorities (keys included) and where each stands in a root
 * rotation. An immutable value; the CA publishes a new one for each change and readers never lock.
 * Encoded as a few named text entries so that a Kubernetes Secret (one data key each) and a file
 * store hold the same thing.
 *
 * @param authorities exactly one ACTIVE, at most one PENDING, any number RETIRING
 */
record CaState(List<Authority> authorities) {

  static final String META = "state.properties";
  private static final int FORMAT_VERSION = 1;

  CaState {
    authorities = List.copyOf(authorities);
    long active = authorities.stream().filter(a -> a.status() == Authority.Status.ACTIVE).count();
    if (active != 1) {
      throw new IllegalArgumentException("a CA state needs one active authority, has " + active);
    }
  }

  Authority active() {
    return authorities.stream()
        .filter(a -> a.status() == Authority.Status.ACTIVE)
        .findFirst()
        .orElseThrow();
  }

  Optional<Authority> pending() {
    return authorities.stream().filter(a -> a.status() == Authority.Status.PENDING).findFirst();
  }

  /** Every anchor a peer must trust now: pending, active and retiring alike, without repeats. */
  List<X509Certificate> trustBundle() {
    List<X509Certificate> bundle = new ArrayList<>();
    for (Authority authority : authorities) {
      if (!bundle.contains(authority.anchor())) {
        bundle.add(authority.anchor());
      }
    }
    return List.copyOf(bundle);
  }

  Map<String, String> encode() {
    Properties meta = new Properties();
    meta.setProperty("version", Integer.toString(FORMAT_VERSION));
    meta.setProperty("authorities", Integer.toString(authorities.size()));
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < authorities.size(); i++) {
      Authority a = authorities.get(i);
      meta.setProperty("authority." + i + ".status", a.status().name());
      meta.setProperty("authority." + i + ".since", a.since().toString());
      meta.setProperty("authority." + i + ".removeAfter", a.removeAfter().toString());
      out.put("authority-" + i + "-cert.pem", Pem.certificate(a.certificate()));
      out.put("authority-" + i + "-key.pem", Pem.privateKey(a.key()));
      out.put("authority-" + i + "-chain.pem", Pem.certificates(a.chain()));
    }
    StringWriter text = new StringWriter();
    try {
      meta.store(text, "Weft CA state");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.put(META, text.toString());
    return out;
  }

  static CaState decode(Map<String, String> entries) {
    String text = entries.get(META);
    if (text == null) {
      throw new IllegalArgumentException("no " + META + " in the stored CA state");
    }
    Properties meta = new Properties();
    try {
      meta.load(new StringReader(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (!Integer.toString(FORMAT_VERSION).equals(meta.getProperty("version"))) {
      throw new IllegalArgumentException(
          "stored CA state has format " + meta.getProperty("version") + ", expected 1");
    }
    int count = Integer.parseInt(meta.getProperty("authorities"));
    List<Authority> authorities = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String chain = entries.getOrDefault("authority-" + i + "-chain.pem", "");
      authorities.add(
          new Authority(
              Pem.parseCertificates(required(entries, "authority-" + i + "-cert.pem")).get(0),
              Pem.parsePrivateKey(required(entries, "authority-" + i + "-key.pem")),
              chain.isBlank() ? List.of() : Pem.parseCertificates(chain),
              Authority.Status.valueOf(meta.getProperty("authority." + i + ".status")),
              Instant.parse(meta.getProperty("authority." + i + ".since")),
              Instant.parse(meta.getProperty("authority." + i + ".removeAfter"))));
    }
    return new CaState(authorities);
  }

  private static String required(Map<String, String> entries, String key) {
    String value = entries.get(key);
    if (value == null) {
      throw new IllegalArgumentException("no " + key + " in the stored CA state");
    }
    return value;
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
