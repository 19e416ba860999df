package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.controller.ca.BootstrapTokens;
import io.jmesh.runtime.identity.SpiffeId;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line without starting a controller: the {@code token} subcommand and bad flags. */
class ControllerMainTest {
  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return new CommandLine(new ControllerMain())
        .setOut(new PrintWriter(out))
        .setErr(new PrintWriter(err))
        .execute(args);
  }

  @Test
  void tokenPrintsABootstrapTokenThatTheControllersKeyAccepts() throws Exception {
    BootstrapTokens tokens = BootstrapTokens.loadOrCreate(dir, "cluster.local", Clock.systemUTC());

    int code =
        run(
            "token",
            "--ca-dir",
            dir.toString(),
            "--namespace",
            "shop",
            "--service-account",
            "cart",
            "--ttl",
            "1h");

    assertThat(code).as("stderr: %s", err).isZero();
    String token = out.toString().trim();
    assertThat(token).startsWith("jmesh1.").doesNotContain("\n");
    assertThat(tokens.authenticate(token)).isEqualTo(SpiffeId.of("cluster.local", "shop", "cart"));
  }

  @Test
  void tokenNeedsTheKeyOfAControllersCaDirectory() {
    Path empty = dir.resolve("empty");

    int code = run("token", "--ca-dir", empty.toString(), "--service-account", "cart");

    assertThat(code).isEqualTo(1);
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString())
        .startsWith("jmesh-controller token: " + empty.resolve("bootstrap.key") + ": no such file");
    // No CA was made as a side effect.
    assertThat(empty).doesNotExist();
  }

  @Test
  void badCaFlagsAreRefusedNamingTheFlag() throws Exception {
    Path file = Files.writeString(dir.resolve("file"), "");

    assertThat(run("token", "--ca-dir", dir.toString(), "--service-account", "cart", "--ttl", "1y"))
        .isEqualTo(2);
    assertThat(err.toString())
        .contains("--ttl: \"1y\" (expected: a duration such as 250ms, 90s, 30m, 24h, 1h30m, 7d or PT2H)");

    assertThat(run("--config", "mesh.yaml", "--ca-dir", file.toString())).isEqualTo(2);
    assertThat(err.toString())
        .contains(
            "--ca-dir: "
                + file
                + ": not a directory (expected: a directory for the CA's files, made if missing)");

    // --config is checked by the command itself, so that `token` does not need it.
    assertThat(run("--ca-dir", dir.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required option: '--config=<yaml>'");

    assertThat(run("--config", "mesh.yaml", "--max-leaf-lifetime", "0s")).isEqualTo(2);
    assertThat(err.toString()).contains("maxLeafLifetime: PT0S (expected: at least 1 second)");

    // TLS is the default, and its certificate comes from the CA: no CA, no start.
    assertThat(run("--config", "mesh.yaml")).isEqualTo(2);
    assertThat(err.toString())
        .contains(
            "--ca-dir: none (expected: a CA directory, or --ca-secret in Kubernetes, since the xDS"
                + " port serves TLS with a certificate from the controller's CA; or"
                + " --insecure-plaintext for a local demo without TLS)");
    err.getBuffer().setLength(0);
    assertThat(run("--config", "mesh.yaml", "--ca-secret", "a/b/c")).isEqualTo(2);
    assertThat(err.toString())
        .contains("--ca-secret: \"a/b/c\" (expected: <name> or <namespace>/<name>, DNS names)");
    err.getBuffer().setLength(0);
    assertThat(run("--config", "mesh.yaml", "--ca-secret", "jmesh-ca", "--ca-dir", "ca"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--ca-dir and --ca-secret: both given");
  }
}
