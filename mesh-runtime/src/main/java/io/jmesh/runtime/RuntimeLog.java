package io.jmesh.runtime;

import java.lang.System.Logger.Level;
import java.util.function.BiConsumer;

/**
 * Where the runtime's few log lines go. By default {@link System.Logger}; the agent redirects them
 * to its own log so that the runtime never initialises the application's logging (for example
 * {@code java.util.logging}) before the application configures it.
 */
public final class RuntimeLog {
  private static volatile BiConsumer<Level, String> sink =
      (level, message) -> System.getLogger("io.jmesh.runtime").log(level, message);

  private RuntimeLog() {}

  /** Sends every later line to {@code newSink}. */
  public static void setSink(BiConsumer<Level, String> newSink) {
    sink = newSink;
  }

  public static void log(Level level, String message) {
    try {
      sink.accept(level, message);
    } catch (RuntimeException ignored) {
      // A log line is never worth failing a reload.
    }
  }
}
