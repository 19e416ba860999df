package io.jmesh.injector;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InjectorMainTest {
  @TempDir Path dir;
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine line = new CommandLine(new InjectorMain());
    line.setErr(new PrintWriter(err, true));
    return line.execute(args);
  }

  @Test
  void aBadCommandLineExits2NamingTheFlag() {
    assertThat(run()).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required option: '--agent-image=<image>'");

    err.getBuffer().setLength(0);
    assertThat(run("--agent-image", "a:1", "--address", "8443")).isEqualTo(2);
    assertThat(err.toString()).contains("--address: \"8443\" (expected: host:port, for example 0.0.0.0:8443)");

    err.getBuffer().setLength(0);
    assertThat(run("--agent-image", "a:1", "--read-timeout", "10")).isEqualTo(2);
    assertThat(err.toString()).contains("\"10\" (expected: a number and a unit: 500ms, 10s, 2m, 1h)");

    err.getBuffer().setLength(0);
    assertThat(run("--agent-image", "a:1", "--path", "/ready")).isEqualTo(2);
    assertThat(err.toString()).contains("path: \"/ready\" (expected: an absolute path other than /ready and /metrics)");

    err.getBuffer().setLength(0);
    assertThat(run("--agent-image", "a:1", "--token-expiration-seconds", "60")).isEqualTo(2);
    assertThat(err.toString()).contains("tokenExpirationSeconds: 60 (expected: 600..86400)");
  }

  @Test
  void noCertificateExits1NamingTheSecret() {
    assertThat(run("--agent-image", "a:1", "--no-kubernetes", "--tls-dir", dir.toString())).isEqualTo(1);
    assertThat(err.toString())
        .startsWith("jmesh-injector: " + dir.resolve("tls.crt") + ": cannot read: ")
        .contains("(expected: the Secret jmesh-injector-tls mounted there, with tls.crt and tls.key)");
  }
}
