package dev.weft.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Keeps the CA state in one file of a data directory, so that a write is all or nothing: written to
 * a temporary file created owner-only (rw-------, never readable by others even for an instant),
 * then renamed over the old one. Creation links the temporary file into place, which fails if the
 * file exists, so two processes sharing a directory also end up with one CA. The directory itself
 * is created rwx------.
 *
 * <p>Durability: the temporary file's bytes are forced to the disk (fsync) before the rename or
 * link, and the directory after it, so a crash or power loss leaves the old state or the new one,
 * never an empty or torn file under the real name ({@link Durable}).
 */
final class DirectoryStore implements KeyMaterialStore {

  static final String FILE = "weft-ca.properties";
  static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");

  private final Path directory;
  private final Path file;
  private final Durable.Sync sync;

  DirectoryStore(Path directory) {
    this(directory, Durable.FORCE);
  }

  /** With {@code sync} in place of fsync: for tests that watch the order of the steps. */
  DirectoryStore(Path directory, Durable.Sync sync) {
    this.directory = directory;
    this.file = directory.resolve(FILE);
    this.sync = sync;
  }

  @Override
  public Optional<Map<String, String>> load() throws IOException {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Properties properties = new Properties();
    properties.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
    Map<String, String> entries = new TreeMap<>();
    for (String key : properties.stringPropertyNames()) {
      entries.put(key, properties.getProperty(key));
    }
    return Optional.of(entries);
  }

  @Override
  public Map<String, String> createIfAbsent(Map<String, String> entries) throws IOException {
    Path temp = writeTemp(entries);
    try {
      Files.createLink(file, temp);
      Durable.syncDirectory(directory, sync);
      return entries;
    } catch (FileAlreadyExistsException taken) {
      return load().orElseThrow(() -> new IOException(file + " vanished while being read"));
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  @Override
  public void replace(Map<String, String> entries) throws IOException {
    Path temp = writeTemp(entries);
    try {
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      Durable.syncDirectory(directory, sync);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private Path writeTemp(Map<String, String> entries) throws IOException {
    if (!Files.isDirectory(directory)) {
      Files.createDirectories(
          directory, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
    }
    Properties properties = new Properties();
    properties.putAll(entries);
    StringWriter text = new StringWriter();
    properties.store(text, "Weft CA key material: keep private");
    Path temp =
        Files.createTempFile(
            directory, ".weft-ca-", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    try {
      Durable.write(
          temp,
          text.toString().getBytes(StandardCharsets.UTF_8),
          sync,
          StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    return temp;
  }
}
