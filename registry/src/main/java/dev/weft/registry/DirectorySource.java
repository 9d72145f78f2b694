package dev.weft.registry;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import com.google.common.hash.HashCode;
import com.google.common.hash.Hashing;
import dev.weft.api.validation.FieldError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A registry source that reads Kubernetes-format YAML from a directory and its subdirectories and
 * follows changes to it: the standalone mode, where files play the part of the API server.
 *
 * <p>Each file is applied as one batch, so a file's objects change together. A file that is not
 * valid YAML, or that Weft fails to apply (a bug), is reported and changes nothing. An object that
 * fails validation is reported and its last good version keeps serving. An object removed from a
 * file is deleted, unless the file has a document that cannot be identified (it might be that
 * object, mangled). An object defined in two files is taken from the first, in path order, and
 * reported in the second.
 *
 * <p>Files are compared by content digest, so a rescan reapplies only the files that changed, and a
 * Kubernetes ConfigMap mount (whose files are swapped through {@code ..data} symlinks) works.
 *
 * <p>Thread-safety: after {@link #start()}, all state is confined to the watcher thread.
 */
public final class DirectorySource implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DirectorySource.class);

  /**
   * How long the watcher waits for more events before applying what changed. Editors and tools save
   * in several steps (write a temporary file, rename it into place, touch it) within a few
   * milliseconds: waiting this long turns a save into one change, and adds no more than that to it.
   */
  private static final long QUIET_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  /**
   * How long the watcher waits instead when a changed file has vanished or is empty: an editor that
   * renames the old file away before writing the new one, or truncates it before writing, leaves
   * such a gap, and applying it would delete the file's objects for a moment.
   */
  private static final long REMOVAL_QUIET_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /**
   * The longest changes wait while events keep coming: a file written continuously (a log
   * mistakenly placed here, a tool that rewrites in a loop) must not hold back every other change.
   */
  private static final long MAX_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** What {@link #readManifest} reads from a file that is gone or not a manifest. */
  private static final byte[] NOT_A_MANIFEST = new byte[0];

  private final Path directory;
  private final RegistrySource sink;
  private final ManifestParser parser = new ManifestParser();
  private final Map<Path, LoadedFile> files = new HashMap<>();
  private final Map<ObjectKey, Path> owners = new HashMap<>();
  private final Set<Path> filesWithConflicts = new HashSet<>();
  private final Map<WatchKey, Path> watchedDirectories = new HashMap<>();
  private WatchService watchService;
  private Thread watcher;

  /** What the source last applied from one file. */
  private record LoadedFile(HashCode digest, Set<ObjectKey> keys) {}

  public DirectorySource(Path directory, RegistrySource sink) {
    this.directory = directory;
    this.sink = sink;
  }

  /**
   * Reads the directory, hands everything to the registry, marks the source synced, and starts
   * following changes.
   *
   * @throws IllegalArgumentException if the directory does not exist
   */
  public synchronized void start() {
    if (!Files.isDirectory(directory)) {
      throw new IllegalArgumentException(
          "config directory "
              + directory.toAbsolutePath()
              + " does not exist or is not a directory");
    }
    try {
      watchService = directory.getFileSystem().newWatchService();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot watch " + directory, e);
    }
    rescan();
    sink.markSynced();
    log.info("reading config from {}: {} files", directory.toAbsolutePath(), files.size());
    watcher = new Thread(this::watch, "weft-config-dir-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }

  @Override
  public synchronized void close() {
    if (watchService != null) {
      try {
        watchService.close();
      } catch (IOException e) {
        log.debug("closing the watch service failed", e);
      }
    }
    if (watcher != null) {
      watcher.interrupt();
      try {
        watcher.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * What the events of one quiet period ask for: re-reading the files they name, or a full rescan
   * when they cannot say which files changed (an overflow, a directory created, removed or renamed,
   * a ConfigMap's {@code ..data} symlink swapped).
   */
  private static final class PendingChanges {
    final Set<Path> files = new TreeSet<>();
    boolean rescan;
  }

  private void watch() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        WatchKey key = watchService.take();
        PendingChanges pending = new PendingChanges();
        long deadline = System.nanoTime() + MAX_DELAY_NANOS;
        while (key != null) {
          collect(key, pending);
          long remaining = deadline - System.nanoTime();
          if (remaining <= 0) {
            break;
          }
          key = watchService.poll(Math.min(QUIET_PERIOD_NANOS, remaining), TimeUnit.NANOSECONDS);
          if (key == null && awaitsRewrite(pending)) {
            remaining = deadline - System.nanoTime();
            key =
                watchService.poll(
                    Math.min(REMOVAL_QUIET_PERIOD_NANOS - QUIET_PERIOD_NANOS, remaining),
                    TimeUnit.NANOSECONDS);
          }
        }
        if (pending.rescan) {
          rescan();
        } else {
          reread(pending.files);
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // Closed: stop watching.
    }
  }

  /** Adds the events of {@code key} to {@code pending}, and re-arms the key. */
  private void collect(WatchKey key, PendingChanges pending) {
    Path parent = watchedDirectories.get(key);
    for (WatchEvent<?> event : key.pollEvents()) {
      if (event.kind() == OVERFLOW || parent == null) {
        pending.rescan = true;
        continue;
      }
      Path path = parent.resolve((Path) event.context());
      String name = path.getFileName().toString();
      if (name.startsWith("..")) {
        // A ConfigMap mount swaps its ..data symlink: every file behind it may have changed.
        pending.rescan = true;
      } else if (name.startsWith(".")) {
        // A hidden file (an editor's swap file, a temporary one) is never a manifest.
        continue;
      } else if (Files.isDirectory(path) || isKnownDirectory(path)) {
        pending.rescan = true;
      } else if (isManifestName(name)) {
        pending.files.add(path);
      }
    }
    if (!key.reset()) {
      // The watched directory is gone (or renamed away): its files with it.
      watchedDirectories.remove(key);
      pending.rescan = true;
    }
  }

  /** Whether {@code path} was a directory the source read: a removed or renamed one. */
  private boolean isKnownDirectory(Path path) {
    if (watchedDirectories.containsValue(path)) {
      return true;
    }
    for (Path file : files.keySet()) {
      if (file.startsWith(path) && !file.equals(path)) {
        return true;
      }
    }
    return false;
  }

  /** Whether a file the source holds objects from has vanished or is empty, maybe mid-save. */
  private boolean awaitsRewrite(PendingChanges pending) {
    if (pending.rescan) {
      return false;
    }
    for (Path file : pending.files) {
      if (files.containsKey(file)) {
        try {
          if (!Files.isRegularFile(file) || Files.size(file) == 0) {
            log.debug("{} is gone or empty; waiting for it to be rewritten", file);
            return true;
          }
        } catch (IOException e) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Re-reads the files the events named, in path order: reapplies those that changed, drops those
   * that are gone, as {@link #rescan()} does for every file.
   */
  private void reread(Set<Path> changed) {
    Set<ObjectKey> released = new HashSet<>();
    for (Path file : changed) {
      Optional<byte[]> read = readManifest(file);
      if (read.isEmpty()) {
        continue;
      }
      byte[] content = read.get();
      if (content == NOT_A_MANIFEST) {
        if (files.containsKey(file)) {
          released.addAll(removeFile(file));
        }
        continue;
      }
      released.addAll(applyIfChanged(file, content));
    }
    reclaim(
        released,
        file -> {
          byte[] content = readManifest(file).orElse(NOT_A_MANIFEST);
          return content == NOT_A_MANIFEST ? null : content;
        });
  }

  /**
   * A file's bytes, or {@link #NOT_A_MANIFEST} if it is gone or is not a manifest. Unreadable (a
   * permission, an I/O error): logged, and empty, so that its objects keep their last good
   * versions.
   */
  private Optional<byte[]> readManifest(Path file) {
    if (!isManifest(file)) {
      return Optional.of(NOT_A_MANIFEST);
    }
    try {
      return Optional.of(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      return Optional.of(NOT_A_MANIFEST); // Deleted since: its own event follows.
    } catch (IOException e) {
      log.warn("cannot read {} ({}); keeping its last good objects", file, e.toString());
      return Optional.empty();
    }
  }

  /**
   * Brings the registry in line with the directory: reapplies changed files, drops removed ones.
   */
  private void rescan() {
    Map<Path, byte[]> present;
    try {
      registerDirectories();
      present = readFiles();
    } catch (IOException | UncheckedIOException e) {
      // One line: an operator needs the path and the reason, and a vanished directory is common
      // (an unmounted volume, a deleted checkout), not a bug.
      log.warn(
          "cannot read config directory {} ({}); keeping the last good config",
          directory,
          e.toString());
      return;
    }
    Set<ObjectKey> released = new HashSet<>();
    for (Path gone : new ArrayList<>(files.keySet())) {
      if (!present.containsKey(gone)) {
        released.addAll(removeFile(gone));
      }
    }
    for (Map.Entry<Path, byte[]> entry : present.entrySet()) {
      Path file = entry.getKey();
      byte[] content = entry.getValue();
      released.addAll(applyIfChanged(file, content));
    }
    reclaim(released, present::get);
  }

  /** Applies a file unless it is as last applied; returns the keys it no longer holds. */
  private Set<ObjectKey> applyIfChanged(Path file, byte[] content) {
    HashCode digest = Hashing.sha256().hashBytes(content);
    LoadedFile loaded = files.get(file);
    if (loaded != null && loaded.digest().equals(digest)) {
      return Set.of();
    }
    return loadFile(file, new String(content, StandardCharsets.UTF_8), digest);
  }

  /**
   * Objects another file also defined are free now: lets those files claim them, reading each with
   * {@code contentOf} (null: it is gone).
   */
  private void reclaim(Set<ObjectKey> released, Function<Path, byte[]> contentOf) {
    if (released.isEmpty() || filesWithConflicts.isEmpty()) {
      return;
    }
    for (Path file : new ArrayList<>(filesWithConflicts)) {
      byte[] content = contentOf.apply(file);
      if (content != null) {
        loadFile(
            file, new String(content, StandardCharsets.UTF_8), Hashing.sha256().hashBytes(content));
      }
    }
  }

  /** Applies one file; returns the keys it no longer holds. */
  private Set<ObjectKey> loadFile(Path file, String content, HashCode digest) {
    String origin = file.toString();
    LoadedFile previous = files.get(file);
    Set<ObjectKey> previousKeys = previous == null ? Set.of() : previous.keys();
    filesWithConflicts.remove(file);

    // Owners and conflicts are recorded once the whole file is decoded, so that a file that fails
    // half-way changes nothing.
    List<Mutation> batch = new ArrayList<>();
    batch.add(new Mutation.ClearOrigin(origin));
    Set<ObjectKey> keys = new HashSet<>();
    boolean unidentified = false;
    boolean conflicted = false;
    try {
      for (ManifestParser.Document document : parser.parse(content)) {
        if (document instanceof ManifestParser.Unreadable unreadable) {
          unidentified |= !unreadable.identified();
          batch.add(
              new Mutation.Reject(
                  new Rejection(origin, unreadable.position(), unreadable.errors())));
          continue;
        }
        ObjectKey key =
            document instanceof ManifestParser.Parsed parsed
                ? parsed.key()
                : ((ManifestParser.Malformed) document).key();
        Path owner = owners.get(key);
        if ((owner != null && !owner.equals(file)) || keys.contains(key)) {
          String where = owner != null && !owner.equals(file) ? owner.toString() : "this file";
          batch.add(
              new Mutation.Reject(
                  new Rejection(
                      origin,
                      key.toString(),
                      List.of(new FieldError("metadata.name", "already defined in " + where)))));
          conflicted = true;
          continue;
        }
        keys.add(key);
        if (document instanceof ManifestParser.Parsed parsed) {
          sink.addUpsert(batch, origin, key, parsed.object());
        } else {
          batch.add(
              new Mutation.Reject(
                  new Rejection(
                      origin, key.toString(), ((ManifestParser.Malformed) document).errors())));
        }
      }
    } catch (ManifestParser.SyntaxError e) {
      return rejectFile(file, digest, previousKeys, e.getMessage());
    } catch (RuntimeException e) {
      // Decoding reports bad input as rejections; an exception is a bug in Weft. It must cost
      // this file only, not the watcher thread (and with it every later change) or the start.
      log.error("failed to apply {}; its objects keep their last good versions", file, e);
      return rejectFile(
          file,
          digest,
          previousKeys,
          "Weft failed to apply this file (" + e + "); this is a bug, please report it");
    }

    for (ObjectKey key : keys) {
      owners.put(key, file);
    }
    if (conflicted) {
      filesWithConflicts.add(file);
    }
    Set<ObjectKey> released = new HashSet<>();
    if (unidentified) {
      keys.addAll(previousKeys);
    } else {
      for (ObjectKey key : previousKeys) {
        if (!keys.contains(key)) {
          batch.add(new Mutation.Delete(key));
          owners.remove(key);
          released.add(key);
        }
      }
    }
    sink.submit(batch);
    files.put(file, new LoadedFile(digest, keys));
    log.debug("applied {}: {} objects", file, keys.size());
    return released;
  }

  /**
   * Reports a file that cannot be applied as a whole; every object it held keeps its last good
   * version. Returns the keys it no longer holds: none.
   */
  private Set<ObjectKey> rejectFile(
      Path file, HashCode digest, Set<ObjectKey> previousKeys, String reason) {
    String origin = file.toString();
    sink.submit(
        List.of(
            new Mutation.ClearOrigin(origin),
            new Mutation.Reject(
                new Rejection(origin, "file", List.of(new FieldError("", reason))))));
    files.put(file, new LoadedFile(digest, previousKeys));
    return Set.of();
  }

  /** Removes everything a deleted file held; returns its keys. */
  private Set<ObjectKey> removeFile(Path file) {
    LoadedFile loaded = files.remove(file);
    filesWithConflicts.remove(file);
    List<Mutation> batch = new ArrayList<>();
    batch.add(new Mutation.ClearOrigin(file.toString()));
    for (ObjectKey key : loaded.keys()) {
      batch.add(new Mutation.Delete(key));
      owners.remove(key);
    }
    sink.submit(batch);
    log.info("{} was removed: deleted {} objects", file, loaded.keys().size());
    return loaded.keys();
  }

  /** Reads every manifest file, in path order so that conflicts resolve the same way each time. */
  private Map<Path, byte[]> readFiles() throws IOException {
    Map<Path, byte[]> result = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(directory)) {
      for (Path path : walk.filter(this::isManifest).toList()) {
        try {
          result.put(path, Files.readAllBytes(path));
        } catch (NoSuchFileException e) {
          // Deleted between the listing and the read: the next event rescans.
        }
      }
    }
    return result;
  }

  private void registerDirectories() throws IOException {
    // A directory renamed away keeps its watch (inotify follows the inode): drop it, so that its
    // events are not taken for the path's, and a new directory there is watched.
    watchedDirectories
        .entrySet()
        .removeIf(
            entry -> {
              if (Files.isDirectory(entry.getValue())) {
                return false;
              }
              entry.getKey().cancel();
              return true;
            });
    Set<Path> watched = new HashSet<>(watchedDirectories.values());
    try (Stream<Path> walk = Files.walk(directory)) {
      for (Path dir : walk.filter(Files::isDirectory).toList()) {
        if (!watched.contains(dir) && !isHidden(dir)) {
          watchedDirectories.put(
              dir.register(watchService, ENTRY_CREATE, ENTRY_MODIFY, ENTRY_DELETE), dir);
        }
      }
    }
  }

  private boolean isManifest(Path path) {
    return isManifestName(path.getFileName().toString())
        && !isHidden(path)
        && Files.isRegularFile(path);
  }

  private static boolean isManifestName(String name) {
    return name.endsWith(".yaml") || name.endsWith(".yml");
  }

  /**
   * Whether a path under the directory is hidden: dot-files, and the {@code ..data} directories of
   * a ConfigMap mount, whose files are also reachable through the top-level symlinks.
   */
  private boolean isHidden(Path path) {
    for (Path part : directory.relativize(path)) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }
}
