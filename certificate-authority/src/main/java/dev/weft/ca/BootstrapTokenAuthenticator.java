package dev.weft.ca;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Standalone bootstrap tokens from a file of {@code <token> <namespace> <serviceAccount>} lines.
 *
 * <p>Thread-safety and reloads: the parsed table is an immutable snapshot in a volatile field,
 * replaced (under this object's lock) when the file's modification time or size changes. A file
 * that cannot be read or has a bad line keeps the last good table, so an operator's half-written
 * edit never locks every workload out. Tokens are looked up by their SHA-256, so the lookup's
 * timing says nothing about how much of a guessed token matched.
 */
final class BootstrapTokenAuthenticator implements Authenticator {

  private static final Logger log = LoggerFactory.getLogger(BootstrapTokenAuthenticator.class);

  private final Path file;
  private volatile Table table = new Table(null, Map.of());

  BootstrapTokenAuthenticator(Path file) {
    this.file = file;
  }

  private record Table(String version, Map<String, WorkloadIdentity> byTokenHash) {}

  @Override
  public AuthResult authenticate(CallerCredentials credentials) {
    if (credentials.bearerToken().isEmpty()) {
      return AuthResult.notPresented();
    }
    WorkloadIdentity identity = current().byTokenHash().get(hash(credentials.bearerToken().get()));
    return identity == null
        ? new AuthResult.Refused("token", "is not a known bootstrap token")
        : new AuthResult.Authenticated(identity);
  }

  private Table current() {
    String version;
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      version = attributes.lastModifiedTime() + "/" + attributes.size();
    } catch (IOException e) {
      return table;
    }
    Table seen = table;
    if (version.equals(seen.version())) {
      return seen;
    }
    synchronized (this) {
      if (!version.equals(table.version())) {
        reload(version);
      }
      return table;
    }
  }

  private void reload(String version) {
    Map<String, WorkloadIdentity> parsed = new HashMap<>();
    try {
      int number = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        number++;
        String content = line.strip();
        if (content.isEmpty() || content.startsWith("#")) {
          continue;
        }
        String[] fields = content.split("\\s+");
        if (fields.length != 3) {
          log.warn(
              "{} line {}: expected '<token> <namespace> <serviceAccount>'; keeping the last good"
                  + " tokens",
              file,
              number);
          return;
        }
        parsed.put(hash(fields[0]), new WorkloadIdentity(fields[1], fields[2]));
      }
    } catch (IOException | IllegalArgumentException e) {
      log.warn("{}: {}; keeping the last good tokens", file, e.getMessage());
      return;
    }
    table = new Table(version, Map.copyOf(parsed));
  }

  private static String hash(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
