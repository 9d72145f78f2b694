package dev.weft.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 */
final class DirectoryStore implements KeyMaterialStore {

  static final String FILE = "weft-ca.properties";
  static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");

  private final Path directory;
  private final Path file;

  DirectoryStore(Path directory) {
    this.directory = directory;
    this.file = directory.resolve(FILE);
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
    Files.writeString(temp, text.toString(), StandardCharsets.UTF_8);
    return temp;
  }
}
