package dev.weft.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain-text table as kubectl prints one: upper-case headers, columns padded by three spaces. */
final class Table {

  private final List<List<String>> rows = new ArrayList<>();

  Table(List<String> headers) {
    rows.add(List.copyOf(headers));
  }

  void add(List<String> row) {
    rows.add(List.copyOf(row));
  }

  void print(PrintWriter out) {
    int columns = rows.get(0).size();
    int[] widths = new int[columns];
    for (List<String> row : rows) {
      for (int i = 0; i < columns; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(row.get(i));
        if (i < columns - 1) {
          line.append(" ".repeat(widths[i] - row.get(i).length() + 3));
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
