package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real JVM started with the packaged agent whose main class is a short-lived helper, not a
 * workload: the agent must stand aside before any start-up work (no bootstrap append, no agent
 * class loader, no log line but its debug note).
 */
class AgentSkipIT {
  private static final Path JAR = Path.of(System.getProperty("jmesh.agent.jar", "target/jmesh-agent.jar"));

  @Test
  void byteBuddyAttacherStartedByMockitoIsSkipped() throws Exception {
    // The real byte-buddy-agent jar, as Mockito's inline mock maker runs it:
    // java -cp byte-buddy-agent.jar net.bytebuddy.agent.Attacher <args>.
    Path attacherJar =
        Path.of(Class.forName("net.bytebuddy.agent.Attacher").getProtectionDomain().getCodeSource().getLocation().toURI());
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                attacherJar.toString(),
                "net.bytebuddy.agent.Attacher")
            .redirectErrorStream(true);
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    pb.environment().keySet().removeIf(k -> k.startsWith("JMESH_"));
    // Through JAVA_TOOL_OPTIONS, as a pod or a build passes it to every JVM.
    pb.environment().put("JAVA_TOOL_OPTIONS", "-javaagent:" + JAR.toAbsolutePath());
    pb.environment().put("JMESH_LOG_LEVEL", "debug");
    Process p = pb.start();
    // Without arguments the attacher has nothing to attach to and exits at once.
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("attacher JVM exited; output:\n%s", output).isTrue();

    List<String> jmeshLines = output.lines().filter(l -> l.startsWith("jmesh ")).toList();
    assertThat(jmeshLines)
        .as("the agent's lines in the attacher JVM's output:\n%s", output)
        .containsExactly("jmesh DEBUG agent not started: tool JVM (main net.bytebuddy.agent.Attacher)");
  }
}
