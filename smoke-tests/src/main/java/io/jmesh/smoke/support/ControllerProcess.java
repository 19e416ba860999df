package io.jmesh.smoke.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A jmesh controller JVM ({@code controller/target/jmesh-controller.jar}) on fixed loopback
 * ports, so that a restarted controller is found again by agents at the same address; with a
 * small HTTP client for its admin API. Used by the smoke tests and the demo.
 *
 * <p>With {@code --ca-dir} the xDS port serves TLS and agents verify it with the CA directory's
 * {@code trust-anchors.pem}; without a CA there is no serving certificate, so it runs with {@code
 * --insecure-plaintext}. {@link #agentEnv()} gives an agent the matching settings.
 */
public final class ControllerProcess implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private final Path config;
  private final Path overrides; // null: none
  private int xdsPort;
  private final int adminPort;
  private final List<String> extraArgs = new ArrayList<>();
  private final java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
  private Jvm jvm;

  /**
   * @param config the mesh YAML the controller watches, or {@code null} for none (then pass
   *     {@code --kubernetes} with {@link #withArgs})
   * @param overrides an xDS overrides file, or {@code null}
   */
  public ControllerProcess(Path config, Path overrides) throws IOException {
    this.config = config;
    this.overrides = overrides;
    this.xdsPort = Ports.unused();
    this.adminPort = Ports.unused();
  }

  /**
   * Listens on {@code other}'s xDS port (start this one after {@code other} stopped): agents
   * configured for {@code other} then reach this controller instead.
   */
  public ControllerProcess onXdsPortOf(ControllerProcess other) {
    this.xdsPort = other.xdsPort;
    return this;
  }

  /** The CA directory of {@code --ca-dir}, or null without a CA. */
  public Path caDir() {
    int i = extraArgs.indexOf("--ca-dir");
    return i < 0 || i + 1 >= extraArgs.size() ? null : Path.of(extraArgs.get(i + 1));
  }

  /** {@code <ca-dir>/trust-anchors.pem}, which the controller writes at start; null without a CA. */
  public Path trustAnchorsFile() {
    Path caDir = caDir();
    return caDir == null ? null : caDir.resolve("trust-anchors.pem");
  }

  /**
   * What an agent needs to reach this controller: {@code JMESH_CONTROLLER}, and {@code
   * JMESH_TRUST_ANCHORS_FILE} (with a CA) or {@code JMESH_CONTROLLER_INSECURE_PLAINTEXT=true}.
   */
  public java.util.Map<String, String> agentEnv() {
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("JMESH_CONTROLLER", xdsAddress());
    Path anchors = trustAnchorsFile();
    if (anchors == null) {
      env.put("JMESH_CONTROLLER_INSECURE_PLAINTEXT", "true");
    } else {
      env.put("JMESH_TRUST_ANCHORS_FILE", anchors.toString());
    }
    return env;
  }

  /** More command-line flags for every start, for example {@code --ca-dir <dir>}. */
  public ControllerProcess withArgs(String... args) {
    extraArgs.addAll(List.of(args));
    return this;
  }

  /**
   * Environment variables for every start, for example where the Kubernetes API is ({@code
   * KUBERNETES_MASTER}, read by fabric8's client).
   */
  public ControllerProcess withEnv(java.util.Map<String, String> variables) {
    env.putAll(variables);
    return this;
  }

  /**
   * Runs the controller jar's {@code token} subcommand against {@code caDir} (a directory the
   * controller has made: start it first) and returns the bootstrap token it prints.
   */
  public static String token(Path caDir, String namespace, String serviceAccount, String ttl)
      throws IOException, InterruptedException {
    try (Jvm token = Jvm.builder("token")
        .classPath(Jvm.controllerJar().toString())
        .main("io.jmesh.controller.ControllerMain", "token", "--ca-dir", caDir.toString(),
            "--namespace", namespace, "--service-account", serviceAccount, "--ttl", ttl)
        .start()) {
      int code = token.awaitExit(60_000);
      // Read the output only once the reader has seen the stream end: the token is its last line.
      String line = token.awaitLine(l -> l.startsWith("jmesh1."), 10_000);
      if (code != 0) {
        throw new IllegalStateException("token: exit " + code + " (expected: 0); output:\n" + token.output());
      }
      return line.trim();
    }
  }

  /** {@code 127.0.0.1:<xds port>}, the value of {@code JMESH_CONTROLLER}. */
  public String xdsAddress() {
    return "127.0.0.1:" + xdsPort;
  }

  public int adminPort() {
    return adminPort;
  }

  public Jvm jvm() {
    return jvm;
  }

  /** Starts the JVM and waits, boundedly, until {@code /ready} answers 200. */
  public ControllerProcess start() throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of(
        "--xds-address", xdsAddress(),
        "--admin-address", "127.0.0.1:" + adminPort));
    if (config != null) {
      args.addAll(List.of("--config", config.toString(), "--poll-ms", "100"));
    }
    if (overrides != null) {
      args.add("--overrides");
      args.add(overrides.toString());
    }
    args.addAll(extraArgs);
    if (caDir() == null && !extraArgs.contains("--insecure-plaintext") && !extraArgs.contains("--ca-secret")) {
      args.add("--insecure-plaintext"); // no CA, no serving certificate
    }
    Path jar = Jvm.controllerJar();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "controller jar: " + jar + " does not exist (expected: built by ./mvnw package -pl controller -am,"
              + " or named by -Djmesh.controller.jar)");
    }
    jvm = Jvm.builder("controller")
        .classPath(Jvm.controllerJar().toString())
        .env(env)
        .main("io.jmesh.controller.ControllerMain", args.toArray(new String[0]))
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!jvm.isAlive()) {
        throw new IllegalStateException("the controller exited:\n" + jvm.output());
      }
      try {
        if (get("/ready").statusCode() == 200) {
          return this;
        }
      } catch (IOException e) {
        // Not listening yet.
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the controller was not ready within 60 s:\n" + jvm.output());
      }
      Thread.sleep(100); // polling a real process's port: bounded by the deadline above
    }
  }

  /** GET on the admin API. */
  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Kills the JVM at once (SIGKILL), as a crash or an evicted pod would end. */
  public void kill() throws InterruptedException {
    ProcessHandle.of(jvm.pid()).ifPresent(ProcessHandle::destroyForcibly);
    jvm.awaitExit(10_000);
  }

  @Override
  public void close() {
    if (jvm != null) {
      jvm.close();
    }
  }

  /**
   * Replaces {@code file} atomically with {@code content} and returns the version the controller
   * will serve for it (the first 12 hex digits of its SHA-256, as the file mode hashes).
   */
  public static String write(Path file, String content) throws IOException {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
