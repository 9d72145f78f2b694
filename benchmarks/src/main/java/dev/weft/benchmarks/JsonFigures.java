package dev.weft.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code --json} option of a benchmark command (a picocli mixin), and the writing of its
 * figures to that file.
 */
final class JsonFigures {

  @Option(names = "--json", description = "Also write the figures to this file as JSON.")
  Path file;

  /** Writes {@code figures} to the file, indented, if one was given. */
  void write(Object figures) throws IOException {
    if (file != null) {
      Files.writeString(
          file,
          JsonMapper.builder()
              .enable(SerializationFeature.INDENT_OUTPUT)
              .build()
              .writeValueAsString(figures));
    }
  }
}
