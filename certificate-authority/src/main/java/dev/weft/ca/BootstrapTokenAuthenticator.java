package dev.weft.ca;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Standalone bootstrap tokens from a file of {@code <token> <namespace> <serviceAccount>} lines.
 *
 * <p>What the file says is what is accepted, and a removal never keeps working:
 *
 * <ul>
 *   <li>a file that is deleted, emptied or cannot be read accepts no token (logged once);
 *   <li>a line that cannot be used (not three fields, an identity that is no SPIFFE path segment, a
 *       token shorter than {@link #weakness 128 bits}, a token listed twice for two identities) is
 *       ignored on its own, logged with its line number and why; every other line takes effect. So
 *       a typo elsewhere in the file cannot keep a revoked token alive, and cannot lock out the
 *       workloads whose lines are right.
 * </ul>
 *
 * <p>Reloads: every call reads the file's attributes (modification time, size, file key); the file
 * is read again when they change, and in any case when the last read is {@link #RECHECK} old. The
 * second rule is there because attributes can miss a change: a file system with one- or two-second
 * timestamps (and an editor that keeps the size) can hide a second write within the same second,
 * and so would keep a token the operator just removed. Reading a file of a few lines once a second
 * costs next to nothing, and bounds how long any removal can go unseen to {@link #RECHECK}. The
 * bytes read are compared by SHA-256 with the last ones, so the table is rebuilt, and its problems
 * logged, only when the content really changed.
 *
 * <p>Thread-safety: the table is an immutable snapshot in a volatile field, replaced under this
 * object's lock. Tokens are looked up by their SHA-256, so the lookup's timing says nothing about
 * how much of a guessed token matched; tokens never appear in logs.
 */
final class BootstrapTokenAuthenticator implements Authenticator {

  /** The longest a change of the file can go unseen when its attributes do not show it. */
  static final Duration RECHECK = Duration.ofSeconds(1);

  /** Tokens must carry at least this much: the strength of a 128-bit key. */
  static final int MIN_BITS = 128;

  /** 22 characters of base64 or base64url (6 bits each) hold 132 bits. */
  static final int MIN_CHARACTERS = 22;

  /** 32 hex digits (4 bits each) hold 128 bits. */
  static final int MIN_HEX_DIGITS = 32;

  /** 39 decimal digits (3.32 bits each) hold 129.6 bits. */
  static final int MIN_DECIMAL_DIGITS = 39;

  private static final Logger log = LoggerFactory.getLogger(BootstrapTokenAuthenticator.class);

  private final Path file;
  private final Clock clock;
  private volatile Table table = Table.NONE;

  BootstrapTokenAuthenticator(Path file) {
    this(file, Clock.systemUTC());
  }

  /** With {@code clock} timing the {@link #RECHECK}: for tests. */
  BootstrapTokenAuthenticator(Path file, Clock clock) {
    this.file = file;
    this.clock = clock;
  }

  /**
   * One reading of the file.
   *
   * @param attributes what the file's attributes were when it was read
   * @param content the SHA-256 of what was read, or why nothing could be
   * @param readAt when it was read
   */
  private record Table(
      String attributes,
      String content,
      Instant readAt,
      Map<String, WorkloadIdentity> byTokenHash) {
    static final Table NONE = new Table("", "", Instant.MIN, Map.of());
  }

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
    String attributes = attributes();
    Table seen = table;
    if (fresh(seen, attributes)) {
      return seen;
    }
    synchronized (this) {
      if (!fresh(table, attributes)) {
        table = reload(table, attributes, clock.instant());
      }
      return table;
    }
  }

  private boolean fresh(Table seen, String attributes) {
    Instant now = clock.instant();
    return attributes.equals(seen.attributes())
        && !now.isBefore(seen.readAt())
        && now.isBefore(seen.readAt().plus(RECHECK));
  }

  private String attributes() {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      return attributes.lastModifiedTime() + "/" + attributes.size() + "/" + attributes.fileKey();
    } catch (NoSuchFileException e) {
      return "missing";
    } catch (IOException e) {
      return "unreadable";
    }
  }

  private Table reload(Table previous, String attributes, Instant now) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return empty(previous, attributes, now, "missing", "is missing");
    } catch (IOException e) {
      return empty(
          previous, attributes, now, "unreadable: " + e, "cannot be read (" + e.getMessage() + ")");
    }
    String content = hash(bytes);
    if (content.equals(previous.content())) {
      return new Table(attributes, content, now, previous.byTokenHash());
    }
    Map<String, WorkloadIdentity> tokens = parse(new String(bytes, StandardCharsets.UTF_8));
    if (tokens.isEmpty()) {
      log.warn("{} lists no usable bootstrap token: none is accepted", file);
    } else {
      log.info("{}: {} bootstrap token(s) accepted", file, tokens.size());
    }
    return new Table(attributes, content, now, tokens);
  }

  private Table empty(Table previous, String attributes, Instant now, String content, String why) {
    if (!content.equals(previous.content())) {
      log.warn("{} {}: no bootstrap token is accepted until it can be read", file, why);
    }
    return new Table(attributes, content, now, Map.of());
  }

  /** The usable lines' tokens; each line that is not usable is logged and left out. */
  private Map<String, WorkloadIdentity> parse(String text) {
    Map<String, WorkloadIdentity> byHash = new HashMap<>();
    Map<String, Integer> lineOf = new HashMap<>();
    Set<String> conflicting = new HashSet<>();
    List<String> lines = text.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      int number = i + 1;
      String content = lines.get(i).strip();
      if (content.isEmpty() || content.startsWith("#")) {
        continue;
      }
      String[] fields = content.split("\\s+");
      if (fields.length != 3) {
        ignored(
            number,
            "expected '<token> <namespace> <serviceAccount>', found "
                + fields.length
                + " field(s)");
        continue;
      }
      Optional<String> weakness = weakness(fields[0]);
      if (weakness.isPresent()) {
        ignored(number, "the token " + weakness.get());
        continue;
      }
      WorkloadIdentity identity;
      try {
        identity = new WorkloadIdentity(fields[1], fields[2]);
      } catch (IllegalArgumentException e) {
        ignored(number, e.getMessage());
        continue;
      }
      String hash = hash(fields[0]);
      WorkloadIdentity earlier = byHash.putIfAbsent(hash, identity);
      if (earlier == null) {
        lineOf.put(hash, number);
      } else if (!earlier.equals(identity)) {
        conflicting.add(hash);
        ignored(
            number,
            "the token of line "
                + lineOf.get(hash)
                + " again, for another identity; neither line's token is accepted");
      }
    }
    byHash.keySet().removeAll(conflicting);
    return Map.copyOf(byHash);
  }

  private void ignored(int number, String why) {
    log.warn("{} line {}: {}; that line is ignored", file, number, why);
  }

  /**
   * Why {@code token} is too weak, if it is. The rule: the token's length times the bits each
   * character can carry must reach {@link #MIN_BITS}, counting by the smallest usual alphabet that
   * holds the whole token: decimal digits only, 3.32 bits each ({@value #MIN_DECIMAL_DIGITS}
   * digits); hex digits only, 4 bits ({@value #MIN_HEX_DIGITS}); anything else as base64 or
   * base64url, 6 bits ({@value #MIN_CHARACTERS} characters). Only printable ASCII, as an {@code
   * authorization} header carries. {@code openssl rand -hex 16} and {@code openssl rand -base64 16}
   * both make tokens that pass. Length is all that can be checked: a long token of one repeated
   * character passes, so generate tokens, never type them.
   */
  static Optional<String> weakness(String token) {
    boolean decimal = true;
    boolean hex = true;
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return Optional.of(
            "holds a character that is not printable ASCII (an 'authorization' header cannot"
                + " carry it)");
      }
      decimal &= c >= '0' && c <= '9';
      hex &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    int length = token.length();
    if (decimal && length < MIN_DECIMAL_DIGITS) {
      return Optional.of(tooShort(length + " decimal digits", MIN_DECIMAL_DIGITS + " digits"));
    }
    if (hex && !decimal && length < MIN_HEX_DIGITS) {
      return Optional.of(tooShort(length + " hex digits", MIN_HEX_DIGITS + " hex digits"));
    }
    if (!hex && length < MIN_CHARACTERS) {
      return Optional.of(
          tooShort(length + " characters", MIN_CHARACTERS + " characters of base64url"));
    }
    return Optional.empty();
  }

  private static String tooShort(String found, String needed) {
    return "is too short: "
        + found
        + ", and "
        + MIN_BITS
        + " bits need at least "
        + needed
        + " (generate one with 'openssl rand -hex 16')";
  }

  private static String hash(String token) {
    return hash(token.getBytes(StandardCharsets.UTF_8));
  }

  private static String hash(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
