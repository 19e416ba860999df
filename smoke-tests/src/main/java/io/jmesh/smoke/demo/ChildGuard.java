package io.jmesh.smoke.demo;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;

/**
 * Runs another application's {@code main} in a JVM started by the {@link Demo}, and ends that JVM
 * as soon as its standard input reaches end-of-file, that is, when the demo that holds the other
 * end of the pipe is gone, even if it was killed with {@code SIGKILL} and its shutdown hook never
 * ran. The demo never leaves a process behind.
 *
 * <p>Usage: {@code ChildGuard <main class> <its arguments...>}
 */
public final class ChildGuard {
  private ChildGuard() {}

  public static void main(String[] args) throws Throwable {
    if (args.length == 0) {
      throw new IllegalArgumentException("usage: ChildGuard <main class> [args...]");
    }
    Thread watch =
        new Thread(
            () -> {
              try {
                while (System.in.read() != -1) {
                  // Nothing is ever sent; only the end of the stream matters.
                }
              } catch (IOException ignored) {
                // Same as end-of-file.
              }
              Runtime.getRuntime().halt(0);
            },
            "jmesh-demo-parent-watch");
    watch.setDaemon(true);
    watch.start();
    try {
      Class.forName(args[0])
          .getMethod("main", String[].class)
          .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
