package dev.weft.ca;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes that survive a crash or power loss, for the write-then-rename pattern: a file's bytes are
 * forced to the disk before it is renamed (or linked) into place, and its directory after, so that
 * after a crash the name points at either the whole old file or the whole new one, never at an
 * empty or partly written one (which a file system may otherwise leave behind: the rename's
 * metadata can reach the disk before the file's data).
 *
 * <p>Stateless; {@link Sync} is the seam where tests watch the order of the steps.
 */
final class Durable {

  private static final Logger log = LoggerFactory.getLogger(Durable.class);

  private Durable() {}

  /** How written data is forced to the disk. */
  interface Sync {
    /** Forces the content of {@code file}, open as {@code channel}, to the disk. */
    void file(Path file, FileChannel channel) throws IOException;

    /** Forces the entries of {@code directory} (names created, renamed, removed) to the disk. */
    void directory(Path directory) throws IOException;
  }

  /**
   * {@link FileChannel#force}: on the file's channel, and on the directory opened for reading,
   * which Linux and the other Unix-likes allow (fsync of a directory descriptor).
   */
  static final Sync FORCE =
      new Sync() {
        @Override
        public void file(Path file, FileChannel channel) throws IOException {
          channel.force(true);
        }

        @Override
        public void directory(Path directory) throws IOException {
          try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
          }
        }
      };

  /**
   * Writes {@code bytes} to {@code file} (opened with {@code options}, plus WRITE) and forces them
   * to the disk before returning.
   */
  static void write(Path file, byte[] bytes, Sync sync, OpenOption... options) throws IOException {
    OpenOption[] all = new OpenOption[options.length + 1];
    System.arraycopy(options, 0, all, 0, options.length);
    all[options.length] = StandardOpenOption.WRITE;
    try (FileChannel channel = FileChannel.open(file, all)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      sync.file(file, channel);
    }
  }

  /**
   * Forces {@code directory}'s entries to the disk after a rename or link in it. A platform that
   * cannot open a directory as a file (Windows) refuses; that is tolerated: the rename itself is
   * still atomic there, only its durability across a power loss is the file system's own.
   */
  static void syncDirectory(Path directory, Sync sync) {
    try {
      sync.directory(directory);
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot fsync the directory {} on this platform: {}", directory, e.toString());
    }
  }
}
