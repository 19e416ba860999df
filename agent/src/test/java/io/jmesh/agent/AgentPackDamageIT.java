package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real JVM started with a copy of the packaged agent whose pack is damaged: the agent must fail
 * its start with one error naming the jar, the member and what was expected, and the application
 * must run on, unmeshed.
 */
class AgentPackDamageIT {
  private static final Path JAR = Path.of(System.getProperty("jmesh.agent.jar", "target/jmesh-agent.jar"));

  @TempDir Path dir;

  /** The application: JDK types only, so that it runs from this module's test classes alone. */
  public static final class App {
    public static void main(String[] args) {
      System.out.println("application ran");
    }
  }

  private static void flip(Path jar, long position) throws Exception {
    try (RandomAccessFile file = new RandomAccessFile(jar.toFile(), "rw")) {
      file.seek(position);
      int b = file.read();
      file.seek(position);
      file.write(b ^ 0x5a);
    }
  }

  private static String run(Path jar) throws Exception {
    Path classes = Path.of(App.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-javaagent:" + jar,
                "-Djmesh.admin.port=0",
                "-cp",
                classes.toString(),
                App.class.getName())
            .redirectErrorStream(true);
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    pb.environment().keySet().removeIf(k -> k.startsWith("JMESH_"));
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("JVM exited; output:\n%s", output).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    return output;
  }

  @Test
  void aDamagedIndexStopsTheAgentNotTheApplication() throws Exception {
    Path jar = Files.copy(JAR, dir.resolve("jmesh-agent.jar"));
    try (AgentPack pack = AgentPack.open(jar.toFile())) {
      // A byte inside the index, past the header: only the index's CRC-32 can tell.
      flip(jar, pack.base() + 12 + 3);
    }

    String output = run(jar);

    assertThat(output)
        .contains("jmesh ERROR agent failed to start; the application runs unmeshed: java.io.IOException: " + jar
            + " entry inst.pack: index CRC-32 0x")
        .contains("(expected: 0x")
        .contains("application ran");
  }

  @Test
  void aDamagedClassStopsTheAgentNamingTheMember() throws Exception {
    Path jar = Files.copy(JAR, dir.resolve("jmesh-agent.jar"));
    String member = "io/jmesh/agent/tooling/AgentInstaller.class";
    try (AgentPack pack = AgentPack.open(jar.toFile())) {
      int i = pack.indexOf(member);
      assertThat(i).as("%s in %s", member, JAR).isNotNegative();
      // The member's CRC-32: after u16 name length, the name, u8 method and u32 size.
      flip(jar, pack.base() + pack.memberStart(i) + 2 + member.length() + 5);
    }

    String output = run(jar);

    assertThat(output)
        .contains("jmesh ERROR agent failed to start; the application runs unmeshed: java.lang.ClassNotFoundException:"
            + " io.jmesh.agent.tooling.AgentInstaller (" + jar + " entry inst.pack: member " + member
            + " is damaged (expected: CRC-32 0x")
        .contains("application ran");
  }
}
