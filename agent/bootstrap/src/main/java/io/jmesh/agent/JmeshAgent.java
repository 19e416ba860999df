package io.jmesh.agent;

import java.io.File;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.net.URL;
import java.util.Locale;
import java.util.jar.JarFile;

/**
 * The {@code Premain-Class} and {@code Agent-Class} of {@code jmesh-agent.jar}. It is loaded by the
 * system class loader, so it uses JDK types only and does as little as it can: decide whether this
 * JVM is a workload at all, append the jar (whose root holds only this launcher and the bridge) to
 * the bootstrap class path, and hand over to the installer inside the isolated agent class loader.
 *
 * <p>Any failure here is printed once and the application starts unmeshed.
 */
public final class JmeshAgent {
  private static final String INSTALLER = "io.jmesh.agent.tooling.AgentInstaller";

  private static volatile boolean started;

  private JmeshAgent() {}

  public static void premain(String args, Instrumentation inst) {
    start(args, inst, false);
  }

  public static void agentmain(String args, Instrumentation inst) {
    start(args, inst, true);
  }

  private static synchronized void start(String args, Instrumentation inst, boolean attached) {
    if (started) {
      return;
    }
    try {
      String skip = skipReason();
      if (skip != null) {
        if ("debug".equalsIgnoreCase(setting("jmesh.log.level", "JMESH_LOG_LEVEL"))) {
          System.err.println("jmesh DEBUG agent not started: " + skip);
        }
        return;
      }
      started = true;
      // Resolve the agent class loader's classes through the system class loader now, before the
      // jar is appended to the bootstrap path: after that, a first reference would resolve to a
      // second copy in the bootstrap loader, in another runtime package.
      Class<?> loaderClass = AgentClassLoader.loadLauncherClasses();
      File jar = agentJar();
      JarFile jarFile = new JarFile(jar);
      boolean packaged = jarFile.getJarEntry(AgentPack.ENTRY) != null;
      inst.appendToBootstrapClassLoaderSearch(jarFile);
      ClassLoader loader;
      if (packaged) {
        loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());
        assert loader.getClass() == loaderClass;
      } else {
        // The bare bootstrap jar, as instrumentation tests attach it: the agent's classes come
        // from the application class path, unshaded. Never the case for jmesh-agent.jar.
        System.err.println("jmesh WARN development mode: agent classes from the class path (tests only)");
        loader = ClassLoader.getSystemClassLoader();
      }
      Class<?> installer = loader.loadClass(INSTALLER);
      Method install =
          installer.getMethod(
              "install", Instrumentation.class, String.class, boolean.class, File.class);
      install.invoke(null, inst, args, attached, jar);
    } catch (Throwable t) {
      System.err.println("jmesh ERROR agent failed to start; the application runs unmeshed: " + t);
      t.printStackTrace();
    }
  }

  /**
   * Returns why this JVM is not a workload, or null when it is. JDK tools ({@code keytool},
   * {@code jcmd}, {@code javac}, …) start from a JDK module; build tools are named by their
   * launcher class. Both read {@code JAVA_TOOL_OPTIONS} too and must stay untouched.
   */
  static String skipReason() {
    String enabled = setting("jmesh.enabled", "JMESH_ENABLED");
    if (enabled != null && enabled.trim().equalsIgnoreCase("false")) {
      return "jmesh.enabled=false";
    }
    String module = System.getProperty("jdk.module.main");
    if (module != null && (module.startsWith("java.") || module.startsWith("jdk."))) {
      return "JDK tool (module " + module + ")";
    }
    String command = System.getProperty("sun.java.command", "");
    String main = command.isEmpty() ? "" : command.split(" ", 2)[0];
    for (String prefix : TOOL_MAIN_PREFIXES) {
      if (main.startsWith(prefix)) {
        return "tool JVM (main " + main + ")";
      }
    }
    String extra = setting("jmesh.exclude.main", "JMESH_EXCLUDE_MAIN");
    if (extra != null) {
      for (String prefix : extra.split(",")) {
        String p = prefix.trim();
        if (!p.isEmpty() && main.startsWith(p)) {
          return "excluded main " + main + " (jmesh.exclude.main)";
        }
      }
    }
    return null;
  }

  private static final String[] TOOL_MAIN_PREFIXES = {
    "sun.tools.",
    "sun.security.tools.",
    "com.sun.tools.",
    "jdk.internal.",
    "jdk.jshell.",
    "org.codehaus.plexus.classworlds.", // Maven
    "org.apache.maven.",
    "org.gradle.",
    "org.jetbrains.kotlin.daemon.",
    // Short-lived helper JVMs: ByteBuddy's attacher, which Mockito's inline mock maker starts
    // (java -cp byte-buddy-agent.jar net.bytebuddy.agent.Attacher) to attach to the test JVM.
    // Joined at run time: the agent jar's shading relocates every net.bytebuddy string constant
    // to io.jmesh.shaded.net.bytebuddy, which would make this entry match nothing.
    String.join(".", "net", "bytebuddy", "agent", "Attacher"),
  };

  /** System property first, then the environment variable. */
  static String setting(String property, String env) {
    String v = System.getProperty(property);
    if (v == null) {
      v = System.getenv(env);
    }
    return v == null ? null : v.trim().toLowerCase(Locale.ROOT).isEmpty() ? null : v;
  }

  private static File agentJar() throws Exception {
    URL location = JmeshAgent.class.getProtectionDomain().getCodeSource().getLocation();
    return new File(location.toURI());
  }
}
