package io.jmesh.controller.cli;

import java.io.PrintWriter;

/**
 * The lines of {@code jmesh check}: {@code √} passed, {@code ‼} a warning that does not fail,
 * {@code ×} failed, each optionally followed by an indented hint saying what to do. Counts the
 * failures for the summary and the exit code. Not thread-safe: one check run.
 */
final class CheckLines {
  private final PrintWriter out;
  private int failures;

  CheckLines(PrintWriter out) {
    this.out = out;
  }

  void ok(String line) {
    out.println("\u221a " + line);
  }

  void warn(String line) {
    out.println("\u203c " + line);
  }

  void warn(String line, String hint) {
    warn(line);
    hint(hint);
  }

  void fail(String line) {
    failures++;
    out.println("\u00d7 " + line);
  }

  void fail(String line, String hint) {
    fail(line);
    hint(hint);
  }

  private void hint(String hint) {
    out.println("    hint: " + hint);
  }

  /** Prints the summary; returns the exit code, 0 when nothing failed, else 1. */
  int summary() {
    out.println();
    out.println(failures == 0 ? "Status check results are \u221a"
        : failures + (failures == 1 ? " check" : " checks") + " failed");
    out.flush();
    return failures == 0 ? 0 : 1;
  }
}
