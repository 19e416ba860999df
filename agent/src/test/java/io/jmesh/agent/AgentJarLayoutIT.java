package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.JarFile;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checks the packaged {@code jmesh-agent.jar}, as {@code unzip -l} and {@code jdeps} would. */
class AgentJarLayoutIT {
  private static final Path JAR = Path.of(System.getProperty("jmesh.agent.jar", "target/jmesh-agent.jar"));

  private static List<String> entries() throws Exception {
    try (JarFile jar = new JarFile(JAR.toFile())) {
      return jar.stream().map(e -> e.getName()).collect(Collectors.toList());
    }
  }

  private static List<String> packed() throws Exception {
    try (AgentPack pack = AgentPack.open(JAR.toFile())) {
      return pack.names();
    }
  }

  @Test
  void rootHoldsOnlyTheLauncherTheBridgeAndOneStoredPack() throws Exception {
    List<String> root = entries();

    assertThat(root)
        .contains("io/jmesh/agent/JmeshAgent.class", "io/jmesh/bridge/MeshBridge.class", "META-INF/MANIFEST.MF", AgentPack.ENTRY);
    assertThat(root)
        .allSatisfy(
            n -> assertThat(n).matches("META-INF/MANIFEST\\.MF|io/jmesh/agent/[^/]+\\.class|io/jmesh/bridge/[^/]+\\.class|inst\\.pack"));
    // Every JVM that sees the jar (a skipped JDK tool too) opens it and indexes each entry: 12,164
    // entries cost keytool and jcmd 15-20 % of their run; a few dozen cost nothing measurable.
    assertThat(root).as("entries of %s", JAR).hasSizeLessThan(100);
    try (JarFile jar = new JarFile(JAR.toFile())) {
      assertThat(jar.getEntry(AgentPack.ENTRY).getMethod()).as("inst.pack is read in place").isEqualTo(ZipEntry.STORED);
    }
  }

  @Test
  void everyOtherClassIsPackedAndThirdPartyClassesAreRelocated() throws Exception {
    List<String> packed = packed();

    // The launcher and the bridge only at the root, where the system class loader finds them.
    assertThat(packed).noneMatch(n -> n.matches("io/jmesh/agent/[^/]+\\.class|io/jmesh/bridge/.*"));
    assertThat(packed).hasSizeGreaterThan(10_000).contains("META-INF/services/io.jmesh.agent.tooling.InstrumentationModule");
    List<String> classes = packed.stream().filter(n -> n.endsWith(".class")).collect(Collectors.toList());
    assertThat(classes).anyMatch(n -> n.startsWith("io/jmesh/shaded/net/bytebuddy/"));
    assertThat(classes).anyMatch(n -> n.startsWith("io/jmesh/shaded/org/yaml/snakeyaml/"));
    // Third-party code only under the relocated prefix; ours under io/jmesh.
    assertThat(classes).allSatisfy(n -> assertThat(n).startsWith("io/jmesh/"));
  }

  @Test
  void shipsNoTestHooks() throws Exception {
    // The conformance suites' fixture lives in agent-tooling's test-jar, outside the agent's API.
    assertThat(packed()).isNotEmpty().noneMatch(n -> n.contains("AgentTestHooks"));
  }

  private static String classText(String member) throws Exception {
    try (AgentPack pack = AgentPack.open(JAR.toFile())) {
      byte[] bytes = pack.read(member);
      assertThat(bytes).as("member %s of %s", member, JAR).isNotNull();
      return new String(bytes, StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void grpcHelpersKeepTheApplicationsIoGrpcAndTheModuleUsesTheShadedByteBuddy() throws Exception {
    // The helpers are defined beside the application's gRPC: the relocation of the agent's own
    // io.grpc must not reach them. The module class runs in the agent with its ByteBuddy.
    String helper = classText("io/jmesh/instrumentation/grpc/v1_60/MeshLoadBalancer.class");
    String module = classText("io/jmesh/instrumentation/grpc/v1_60/GrpcInstrumentationModule.class");

    assertThat(helper).contains("io/grpc/LoadBalancer").doesNotContain("io/jmesh/shaded/io/grpc");
    assertThat(module).contains("io/jmesh/shaded/net/bytebuddy").doesNotContain("io/jmesh/shaded/io/grpc");
    // The advice is read by the agent's ByteBuddy: its @Advice annotations must be the relocated ones.
    String advice = classText("io/jmesh/instrumentation/grpc/v1_60/ChannelBuildAdvice.class");
    assertThat(advice).contains("io/jmesh/shaded/net/bytebuddy/asm/Advice$OnMethodEnter");
  }

  @Test
  void bridgeAndLauncherDependOnTheJdkAlone(@TempDir Path dir) throws Exception {
    List<Path> rootClasses = new ArrayList<>();
    try (JarFile jar = new JarFile(JAR.toFile())) {
      for (String name : Collections.list(jar.entries()).stream().map(e -> e.getName()).collect(Collectors.toList())) {
        if (name.endsWith(".class")) {
          Path out = dir.resolve(name);
          Files.createDirectories(out.getParent());
          Files.write(out, jar.getInputStream(jar.getEntry(name)).readAllBytes());
          rootClasses.add(out);
        }
      }
    }
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> args = new ArrayList<>(List.of("-verbose:class"));
    rootClasses.forEach(p -> args.add(p.toString()));
    int rc = jdeps.run(new PrintStream(out, true, StandardCharsets.UTF_8), System.err, args.toArray(new String[0]));
    String report = out.toString(StandardCharsets.UTF_8);

    assertThat(rc).as(report).isZero();
    // jdeps prints "<class> -> <class it uses> <module>" per dependency.
    assertThat(report).doesNotContain("not found");
    List<String> targets =
        report.lines()
            .map(String::trim)
            .filter(l -> l.startsWith("io.jmesh.") && l.contains(" -> "))
            .map(l -> l.substring(l.indexOf(" -> ") + 4).trim().split("\\s+")[0])
            .collect(Collectors.toList());
    assertThat(targets).isNotEmpty();
    // JDK types only: java.* and javax.net.ssl (the bridge hands a mesh TLS context to woven code).
    assertThat(targets)
        .allSatisfy(t -> assertThat(t).matches("java\\..*|javax\\.net\\.ssl\\.[^.]+|io\\.jmesh\\.(agent|bridge)\\.[^.]+"));
  }
}
