package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Gives the C heap that the agent's start-up freed back to the operating system, once, with the
 * JVM's own diagnostic command {@code System.trim_native_heap} (glibc's {@code malloc_trim}).
 *
 * <p>Why: defining some 2,150 classes and compiling the agent's start-up code leave the JVM's
 * class-parsing and compiler arenas freed but still resident in glibc's per-thread malloc arenas
 * (about 10 MiB more than a JVM without the agent at the same point, measured with {@code jcmd
 * <pid> System.trim_native_heap}). JDK 21 can trim periodically ({@code
 * -XX:TrimNativeHeapInterval}), but an agent cannot set that flag; it can run the command once.
 *
 * <p>The command exists from JDK 17.0.9 and 21 on; elsewhere (an older JDK, a C library without
 * {@code malloc_trim}) this does nothing. It never throws. It calls the command in-process through
 * {@code com.sun.management.internal.DiagnosticCommandImpl}, opened to the agent with {@link
 * Instrumentation#redefineModule}, rather than through the platform MBean server, which would load
 * and keep JMX for this one call.
 *
 * <p>The agent trims at the end of its start and once more {@link #LATER_MILLIS} later, on its
 * start thread (daemon), which then ends. Nothing trims periodically: an idle agent frees
 * nothing worth it.
 *
 * <p>Thread-safety: call from one thread; it blocks for the trim (milliseconds).
 */
final class NativeHeapTrim {
  private NativeHeapTrim() {}

  private static final String COMMAND = "System.trim_native_heap";

  /** Trims once; returns the command's answer (for example the RSS before and after), or why not. */
  static String trim(Instrumentation inst) {
    try {
      Optional<Module> management = ModuleLayer.boot().findModule("jdk.management");
      if (management.isEmpty()) {
        return "not trimmed: no module jdk.management";
      }
      String pkg = "com.sun.management.internal";
      Module agent = NativeHeapTrim.class.getModule();
      if (!management.get().isOpen(pkg, agent)) {
        inst.redefineModule(management.get(), Set.of(), Map.of(), Map.of(pkg, Set.of(agent)), Set.of(), Map.of());
      }
      ClassLoader platform = ClassLoader.getPlatformClassLoader();
      // Its static initializer loads libmanagement_ext, where the commands' native methods live.
      Class.forName(pkg + ".PlatformMBeanProviderImpl", true, platform);
      Class<?> impl = Class.forName(pkg + ".DiagnosticCommandImpl", true, platform);
      Method get = impl.getDeclaredMethod("getDiagnosticCommandMBean");
      get.setAccessible(true);
      Object commands = get.invoke(null);
      if (commands == null) {
        return "not trimmed: no diagnostic commands in this JVM";
      }
      Method list = impl.getDeclaredMethod("getDiagnosticCommands");
      list.setAccessible(true);
      if (!Set.of((String[]) list.invoke(commands)).contains(COMMAND)) {
        return "not trimmed: this JVM has no " + COMMAND + " (JDK 17.0.9 or later has it)";
      }
      Method execute = impl.getDeclaredMethod("executeDiagnosticCommand", String.class);
      execute.setAccessible(true);
      return String.valueOf(execute.invoke(commands, COMMAND)).trim();
    } catch (InvocationTargetException e) {
      return "not trimmed: " + e.getCause();
    } catch (Throwable t) {
      return "not trimmed: " + t;
    }
  }

  /** {@link #trim} with its answer at debug level. */
  static void trimAndLog(Instrumentation inst, String when) {
    AgentLog.debug("native heap " + when + ": " + trim(inst));
  }

  /**
   * How long after start-up the second trim runs. Measured 2026-12-07 (file mode, JDK 17.0.15,
   * 200 calls after start): a trim right after start-up returned 3 MiB, one a few seconds later
   * 9 MiB, and one 10 s after that 12 MiB more; later ones nothing.
   */
  static final long LATER_MILLIS = 30_000;

  /**
   * Trims once more after {@code delayMillis} on the calling thread, which must be the agent's
   * own start thread: it then ends. Interrupted, it ends without trimming.
   */
  static void trimLater(Instrumentation inst, long delayMillis) {
    try {
      Thread.sleep(delayMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    trimAndLog(inst, delayMillis / 1000 + " s after start-up");
  }
}
