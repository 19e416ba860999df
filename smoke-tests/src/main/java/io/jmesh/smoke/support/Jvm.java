package io.jmesh.smoke.support;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Starts a real JVM (one of the applications in {@code io.jmesh.smoke.apps}) and reads its
 * output line by line. Used by the smoke tests, the demo and the benchmark harness.
 *
 * <p>Locations come from system properties set by the build ({@code jmesh.agent.jar},
 * {@code jmesh.apps.classes}, {@code jmesh.apps.libs}), with defaults relative to the repository
 * root for running from a shell.
 */
public final class Jvm implements AutoCloseable {
  private final String name;
  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<String> all = new ArrayList<>();

  private final Thread reader;

  private boolean readerAlive() {
    return reader.isAlive();
  }

  private Jvm(String name, Process process) {
    this.name = name;
    this.process = process;
    reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  synchronized (all) {
                    all.add(line);
                  }
                  lines.add(line);
                }
              } catch (IOException ignored) {
                // The process ended.
              }
            },
            "jvm-output-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  /** The agent jar built by {@code agent/}. */
  public static Path agentJar() {
    return Path.of(System.getProperty("jmesh.agent.jar", "agent/target/jmesh-agent.jar")).toAbsolutePath();
  }

  /** The runnable controller jar built by {@code controller/}. */
  public static Path controllerJar() {
    return Path.of(System.getProperty("jmesh.controller.jar", "controller/target/jmesh-controller.jar"))
        .toAbsolutePath();
  }

  /** The compiled applications. */
  public static Path appClasses() {
    return Path.of(System.getProperty("jmesh.apps.classes", "smoke-tests/target/classes")).toAbsolutePath();
  }

  /**
   * The class path of the applications plus the Spring Boot application of {@code
   * smoke-tests/spring-app} (its classes and {@code libs}), which only {@code -Pbench} builds.
   */
  public static String springAppClassPath() {
    Path target = Path.of(System.getProperty("jmesh.spring.app", "smoke-tests/spring-app/target")).toAbsolutePath();
    Path classes = target.resolve("classes");
    Path libs = target.resolve("libs");
    if (!Files.isDirectory(classes) || !Files.isDirectory(libs)) {
      throw new IllegalStateException("Spring Boot application not found at " + target + " (expected: classes and"
          + " libs built by ./mvnw -B -Pbench package -pl smoke-tests/spring-app -DskipTests)");
    }
    StringBuilder cp = new StringBuilder(appClassPath(null)).append(File.pathSeparatorChar).append(classes);
    appendJars(cp, libs, "Spring Boot application libraries");
    return cp.toString();
  }

  /** The class path of the applications plus the libraries of {@code libSet} (okhttp3, okhttp4, okhttp5, or null). */
  public static String appClassPath(String libSet) {
    StringBuilder cp = new StringBuilder(appClasses().toString());
    if (libSet != null) {
      Path dir = Path.of(System.getProperty("jmesh.apps.libs", "smoke-tests/target/libs")).resolve(libSet).toAbsolutePath();
      appendJars(cp, dir, "library set " + libSet);
    }
    return cp.toString();
  }

  /** Appends every jar in {@code dir}, sorted by name; {@code what} names the directory in the error. */
  private static void appendJars(StringBuilder cp, Path dir, String what) {
    try (Stream<Path> jars = Files.list(dir)) {
      for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().collect(Collectors.toList())) {
        cp.append(File.pathSeparatorChar).append(jar);
      }
    } catch (IOException e) {
      throw new IllegalStateException(what + " not found at " + dir + " (run the build first)", e);
    }
  }

  /** Describes a JVM to start. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** A JVM to start. */
  public static final class Builder {
    private final String name;
    private String javaHome = System.getProperty("jmesh.test.java.home", System.getProperty("java.home"));
    private String classPath = appClasses().toString();
    private final List<String> jvmArgs = new ArrayList<>();
    private String mainClass;
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private Path directory; // null: the test's own working directory

    private Builder(String name) {
      this.name = name;
    }

    public Builder javaHome(String home) {
      this.javaHome = home;
      return this;
    }

    public Builder classPath(String cp) {
      this.classPath = cp;
      return this;
    }

    /** Attaches the agent with {@code -javaagent:}. */
    public Builder withAgent() {
      jvmArgs.add("-javaagent:" + agentJar());
      return this;
    }

    /** Attaches the agent through {@code JAVA_TOOL_OPTIONS}, as the Kubernetes injector does. */
    public Builder withAgentInToolOptions() {
      env.put("JAVA_TOOL_OPTIONS", "-javaagent:" + agentJar());
      return this;
    }

    public Builder jvmArg(String arg) {
      jvmArgs.add(arg);
      return this;
    }

    /** The JVM's working directory. */
    public Builder directory(Path dir) {
      this.directory = dir;
      return this;
    }

    public Builder env(String key, String value) {
      env.put(key, value);
      return this;
    }

    /** Every entry of {@code variables}, for example {@link ControllerProcess#agentEnv()}. */
    public Builder env(java.util.Map<String, String> variables) {
      env.putAll(variables);
      return this;
    }

    public Builder main(String mainClass, String... args) {
      this.mainClass = mainClass;
      this.args.addAll(List.of(args));
      return this;
    }

    public List<String> command() {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(javaHome, "bin", "java").toString());
      cmd.add("-cp");
      cmd.add(classPath);
      cmd.addAll(jvmArgs);
      // For profiling a run by hand (for example a flight recording of every JVM the benchmark
      // starts); never set by the build.
      String extra = System.getProperty("jmesh.test.extra.jvm.args", "").trim();
      if (!extra.isEmpty()) {
        cmd.addAll(List.of(extra.split("\\s+")));
      }
      cmd.add(mainClass);
      cmd.addAll(args);
      return cmd;
    }

    public Jvm start() throws IOException {
      ProcessBuilder pb = new ProcessBuilder(command()).redirectErrorStream(true);
      if (directory != null) {
        pb.directory(directory.toFile());
      }
      // Tests decide about the agent themselves: never inherit an outer JAVA_TOOL_OPTIONS.
      pb.environment().remove("JAVA_TOOL_OPTIONS");
      pb.environment().keySet().removeIf(k -> k.startsWith("JMESH_"));
      pb.environment().putAll(env);
      return new Jvm(name + " " + String.join(" ", command()), pb.start());
    }
  }

  /** Waits up to {@code timeoutMillis} for a line that matches, and returns it. */
  public String awaitLine(Predicate<String> match, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IllegalStateException(
            name + ": no matching line within " + timeoutMillis + " ms; output so far:\n" + output());
      }
      // Poll in short slices so that a process that died is reported at once, not at the deadline.
      String line = lines.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
      if (line != null && match.test(line)) {
        return line;
      }
      if (line == null && !process.isAlive() && lines.isEmpty() && !readerAlive()) {
        throw new IllegalStateException(
            name + ": exited with " + process.exitValue() + " before a matching line; output:\n" + output());
      }
    }
  }

  /** Waits for {@code READY <port>} and returns the port. */
  public int awaitReady(long timeoutMillis) throws InterruptedException {
    String line = awaitLine(l -> l.startsWith("READY "), timeoutMillis);
    return Integer.parseInt(line.substring("READY ".length()).trim());
  }

  /** Waits for the process to end and returns its exit code. */
  public int awaitExit(long timeoutMillis) throws InterruptedException {
    if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + ": still running after " + timeoutMillis + " ms; output:\n" + output());
    }
    return process.exitValue();
  }

  /** Everything printed so far (stdout and stderr). */
  public String output() {
    synchronized (all) {
      return String.join("\n", all);
    }
  }

  /** The lines printed so far. */
  public List<String> lines() {
    synchronized (all) {
      return List.copyOf(all);
    }
  }

  /** Writes one line to the process's standard input. */
  public void send(String line) throws IOException {
    process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().flush();
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
