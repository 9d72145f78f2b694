package dev.weft.ca;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;

/**
 * The files a workload's TLS stack reads, in the layout of gRPC's {@code file_watcher} certificate
 * provider ({@code certificate_file}, {@code private_key_file}, {@code ca_certificate_file}), all
 * replaced together in one atomic step, as Kubernetes does for projected volumes:
 *
 * <pre>
 * dir/..2026_01_01T00_00_00.000Z_42/   certificate.pem, private_key.pem, ca_certificates.pem
 * dir/..data -> ..2026_...             swapped by an atomic rename of a new symlink
 * dir/certificate.pem -> ..data/certificate.pem   (and the other two)
 * </pre>
 *
 * <p>A reader never sees a new certificate with an old key: the three change in the one rename. The
 * previous generation's directory is removed only after the swap, so a valid certificate is never
 * removed before its replacement is in place. The key is owner-only (rw-------).
 *
 * <p>Durability: the three files are forced to the disk (fsync), and the new generation's directory
 * and {@code dir} after it, before {@code ..data} is swapped, and {@code dir} again after the swap;
 * so after a crash or power loss {@code ..data} names a whole generation, the old one or the new
 * one, never files that are empty or half written ({@link Durable}).
 */
public final class CredentialFiles {

  public static final String CERTIFICATE_FILE = "certificate.pem";
  public static final String PRIVATE_KEY_FILE = "private_key.pem";
  public static final String CA_CERTIFICATE_FILE = "ca_certificates.pem";
  private static final String DATA = "..data";

  private CredentialFiles() {}

  /** Writes one generation and makes it current. Not for concurrent writers of one directory. */
  public static void write(Path dir, SvidWithKey svid, Instant now) throws IOException {
    write(dir, svid, now, Durable.FORCE);
  }

  /** {@link #write}, with {@code sync} in place of fsync: for tests that watch the order. */
  static void write(Path dir, SvidWithKey svid, Instant now, Durable.Sync sync) throws IOException {
    Files.createDirectories(dir);
    Path generation =
        Files.createTempDirectory(
            dir, ".." + now.toString().replace(':', '_').replace('-', '_') + "_");
    Durable.write(
        generation.resolve(CERTIFICATE_FILE),
        Pem.certificates(svid.svid().chain()).getBytes(StandardCharsets.US_ASCII),
        sync,
        StandardOpenOption.CREATE_NEW);
    Path key = generation.resolve(PRIVATE_KEY_FILE);
    Files.createFile(key, PosixFilePermissions.asFileAttribute(DirectoryStore.OWNER_ONLY));
    Durable.write(
        key,
        Pem.privateKey(svid.privateKey()).getBytes(StandardCharsets.US_ASCII),
        sync,
        StandardOpenOption.TRUNCATE_EXISTING);
    Durable.write(
        generation.resolve(CA_CERTIFICATE_FILE),
        Pem.certificates(svid.svid().trustBundle()).getBytes(StandardCharsets.US_ASCII),
        sync,
        StandardOpenOption.CREATE_NEW);
    // The generation's entries, then the generation's own entry in dir, before anything names it.
    Durable.syncDirectory(generation, sync);
    Durable.syncDirectory(dir, sync);

    Path data = dir.resolve(DATA);
    Optional<Path> previous =
        Files.isSymbolicLink(data)
            ? Optional.of(dir.resolve(Files.readSymbolicLink(data)))
            : Optional.empty();
    Path newLink = dir.resolve(DATA + "_tmp");
    Files.deleteIfExists(newLink);
    Files.createSymbolicLink(newLink, generation.getFileName());
    Files.move(newLink, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    for (String name : new String[] {CERTIFICATE_FILE, PRIVATE_KEY_FILE, CA_CERTIFICATE_FILE}) {
      Path link = dir.resolve(name);
      if (!Files.isSymbolicLink(link)) {
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, Path.of(DATA, name));
      }
    }
    // The swap (and first links), before the old generation goes.
    Durable.syncDirectory(dir, sync);
    if (previous.isPresent() && !previous.get().equals(generation)) {
      deleteGeneration(previous.get());
    }
  }

  /** The credentials currently in {@code dir}, if any can be read. */
  public static Optional<SvidWithKey> read(Path dir) {
    try {
      Path certificate = dir.resolve(CERTIFICATE_FILE);
      if (!Files.exists(certificate, LinkOption.NOFOLLOW_LINKS)) {
        return Optional.empty();
      }
      var chain = Pem.parseCertificates(Files.readString(certificate));
      var bundle = Pem.parseCertificates(Files.readString(dir.resolve(CA_CERTIFICATE_FILE)));
      var key = Pem.parsePrivateKey(Files.readString(dir.resolve(PRIVATE_KEY_FILE)));
      String id = SvidAuthenticator.spiffeId(chain.get(0)).orElse("");
      return Optional.of(new SvidWithKey(new Svid(id, chain, bundle), key));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static void deleteGeneration(Path generation) throws IOException {
    if (!Files.isDirectory(generation, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var files = Files.list(generation)) {
      for (Path file : files.toList()) {
        Files.deleteIfExists(file);
      }
    }
    Files.deleteIfExists(generation);
  }
}
