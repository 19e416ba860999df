package io.jmesh.bridge;

import java.time.Instant;

/**
 * The agent's log: one line per event on standard error, prefixed {@code jmesh}. It lives in the
 * bridge so that woven code, the launcher and the runtime share one level. No logging framework:
 * the application's own must stay untouched.
 */
public final class AgentLog {
  /** Levels, most verbose first. */
  public enum Level {
    DEBUG,
    INFO,
    WARN,
    ERROR,
    OFF
  }

  private static volatile Level level = Level.INFO;

  private AgentLog() {}

  public static void setLevel(Level newLevel) {
    level = newLevel;
  }

  public static Level level() {
    return level;
  }

  public static boolean enabled(Level l) {
    return l.compareTo(level) >= 0 && l != Level.OFF;
  }

  public static void debug(String message) {
    log(Level.DEBUG, message, null);
  }

  public static void info(String message) {
    log(Level.INFO, message, null);
  }

  public static void warn(String message) {
    log(Level.WARN, message, null);
  }

  public static void warn(String message, Throwable t) {
    log(Level.WARN, message, t);
  }

  public static void error(String message, Throwable t) {
    log(Level.ERROR, message, t);
  }

  private static void log(Level l, String message, Throwable t) {
    if (!enabled(l)) {
      return;
    }
    StringBuilder line = new StringBuilder(96);
    line.append(Instant.now()).append(" jmesh ").append(l).append(' ').append(message);
    synchronized (System.err) {
      System.err.println(line);
      if (t != null) {
        t.printStackTrace(System.err);
      }
    }
  }
}
